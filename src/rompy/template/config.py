"""TemplateModelConfig: run a program from text files rendered from a template folder, with staged inputs.

In a template, `config` is this model's settings with its `params` at the top
(`{{config.nx}}`), and `runtime` the run: `runtime.run_id`, `runtime.period` (`.start`,
`.end`, `.interval`, `.date_range` to loop over), `runtime.staging_dir` (the run
directory), `runtime._datefmt`. Values written as `${oc.env:NAME}` are rendered as written,
never as the secret they stand for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from rompy._pluggable import command_is_text, is_existing_dir
from rompy.config import ModelConfig, RenderedFile, Runtime
from rompy.template.inputs import InputFile


class TemplateModelConfig(ModelConfig):
    """A program driven by files rendered from a template folder (a namelist, a command file)."""

    type: Literal["template"] = "template"
    template: str = Field(description="Folder of Jinja2 templates (upstream rompy's cookiecutter layout works as is).")
    checkout: str | None = Field(None, description="A branch, tag or commit, when the template folder is a git repository.")
    command: str | list[str] = Field(description="The program to run, from the run directory: a string (shell) or a list.")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="The model's parameters: {{config.<name>}} in the templates.")
    inputs: list[InputFile] = Field(default_factory=list,
                                    description="Files or folders to stage: [{src, dest, link}]; checksums go in the record.")

    reserved: ClassVar[frozenset[str]] = frozenset({"type", "template", "checkout", "command", "params", "inputs"})

    @field_validator("template", mode="before")
    @classmethod
    def _template_folder(cls, value):
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        if value is None:
            raise ValueError("give the folder of templates: model.template=<folder>")
        if isinstance(value, str) and not is_existing_dir(value):
            raise ValueError("not a folder of templates")
        return value

    @field_validator("command", mode="before")
    @classmethod
    def _command_given(cls, value):
        command_is_text(value, "model.command")
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            raise ValueError("give the program to run from the run directory: model.command='./run.sh'")
        return value

    @field_validator("params")
    @classmethod
    def _no_clash(cls, value):
        clash = sorted(set(value) & cls.reserved)
        if clash:
            raise ValueError(f"params {', '.join(clash)} would hide the model's own key of that name; rename it")
        return value

    def render(self, runtime: Runtime) -> dict[str, str | bytes | RenderedFile]:
        from rompy.redaction import keep_env_references
        from rompy.template.render import checked_out, render_folder

        written = keep_env_references(self.model_dump(mode="json"), runtime.written or {})
        config = {**written, **(written.get("params") or {})}
        with checked_out(Path(self.template).expanduser(), self.checkout) as folder:
            context = {"config": config, "runtime": runtime.template_context(), "_template": str(folder),
                       "cookiecutter": {}}
            files = render_folder(folder, context)
        return {name: RenderedFile(content, executable) for name, (content, executable) in files.items()}

    def stage(self, run_dir: Path) -> list[dict[str, Any]]:
        return [item.stage(run_dir) for item in self.inputs]

    def model_command(self) -> str | list[str]:
        return self.command
