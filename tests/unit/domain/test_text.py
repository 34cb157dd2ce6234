"""domain.text.clip: one line's worth of text, cut with an ellipsis only when too long."""

from fuelpipe.domain.text import clip


def test_text_at_the_limit_is_kept_whole_and_one_more_character_is_cut_to_the_limit() -> None:
    assert clip("abcde", 5) == "abcde"
    assert clip("abcdef", 5) == "abcd…"
    assert len(clip("x" * 1_000, 80)) == 80


def test_one_long_token_keeps_its_start_unlike_textwrap_shorten() -> None:
    url = (
        "https://www.gov.br/anp/pt-br/assuntos/precos-e-defesa-da-concorrencia/precos/levantamento"
    )
    assert clip(url, 30) == url[:29] + "…"
