from loaders.extract_docs import DOC_FILE, render


def test_extract_docs_are_up_to_date() -> None:
    assert DOC_FILE.read_text(encoding="utf-8") == render(), "run: python -m loaders.extract_docs"
