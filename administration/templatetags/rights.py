"""``{{ rights|rights_text }}``: a stored rights list as a person reads it."""

from django import template

from administration.policy import right_text

register = template.Library()


@register.filter
def rights_text(rights: list) -> str:
    return "; ".join(right_text(right) for right in rights or []) or "—"
