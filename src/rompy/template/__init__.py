"""The `template` model: a compiled code (or any program) driven by text files rendered from a template folder.

config (TemplateModelConfig: the template, its parameters, the inputs to stage, the command),
render (a folder of Jinja2 templates, upstream rompy's cookiecutter layout included, rendered
with one-line errors), inputs (files and folders copied or linked into the run, with checksums).
"""

from rompy.template.config import InputFile, TemplateModelConfig

__all__ = ["InputFile", "TemplateModelConfig"]
