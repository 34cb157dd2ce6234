"""The replay snapshot builder: real files in, src/fuelpipe/replay/snapshot out."""
