"""Local stand-ins for AWS: dynalite and moto_server on 127.0.0.1, and Lambda event shapes."""
