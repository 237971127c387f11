"""The form engine: form definition documents → pages, WTForms forms, answers, readable output.

The API is described in docs/contracts/form-engine.md; the document format in
docs/form-definitions.md.
"""

from forms.dynamic.builder import page_action, page_item_counts
from forms.dynamic.conditions import is_visible
from forms.dynamic.engine import (
    PageInvalid,
    Row,
    Section,
    build_page_form,
    build_resumed_page_form,
    cents_of,
    compute_values,
    computed_data,
    extract_page_answers,
    extract_partial_answers,
    form_error_pairs,
    format_answers,
    prune_hidden,
    remove_file_answer,
    validate_answers,
    visible_pages,
)
from forms.dynamic.registry import FieldError, get_type, load_types, type_names
from forms.dynamic.spec import FieldSpec, FormSpec, PageSpec
from forms.dynamic.types.files import accept_of, max_bytes_of

load_types()

__all__ = [
    "FieldError",
    "FieldSpec",
    "FormSpec",
    "PageInvalid",
    "PageSpec",
    "Row",
    "Section",
    "accept_of",
    "build_page_form",
    "build_resumed_page_form",
    "cents_of",
    "compute_values",
    "computed_data",
    "extract_page_answers",
    "extract_partial_answers",
    "form_error_pairs",
    "format_answers",
    "get_type",
    "is_visible",
    "max_bytes_of",
    "page_action",
    "page_item_counts",
    "prune_hidden",
    "remove_file_answer",
    "type_names",
    "validate_answers",
    "visible_pages",
]
