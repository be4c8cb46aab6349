"""The bench's django-viewflow project (runs only in bench/.venv-viewflow, never imported by the product)."""
