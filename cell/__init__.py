"""What is built: the materials catalog, layers and stacks, templates, the figures
derived from a stack and the rules a stack must satisfy. No Qt, no I/O beyond
reading the shipped catalog."""
from cell.materials import Catalog, Material, load_catalog
from cell.stack import CUSTOM, Layer, Stack, empty_stack, new_layer
from cell.templates import template_names, template_title, from_template
from cell.figures import CellFigures, figures
from cell.validation import Issue, Limits, validate

__all__ = [
    "Catalog", "Material", "load_catalog", "CUSTOM", "Layer", "Stack", "empty_stack", "new_layer",
    "template_names", "template_title", "from_template", "CellFigures", "figures", "Issue", "Limits", "validate",
]
