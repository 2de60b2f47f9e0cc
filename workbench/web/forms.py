"""Flask-WTF forms of the pages (every one carries a CSRF token)."""

from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import MultipleFileField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from workbench.formats._foreign import LabelMapError
from workbench.formats._foreign import parse_label_map
from workbench.models import MEMBER_ROLES

#: Import formats offered on the import page (``auto`` guesses from the file name and content).
IMPORT_FORMATS = ["auto", "text", "html", "jsonl", "labelstudio", "doccano", "brat"]
#: Export layers offered on the export page.
EXPORT_LAYERS = ("documents", "gold", "annotators", "predictions", "all")
#: How the export page names each format.
EXPORT_FORMAT_NAMES = {
    "jsonl": "JSON lines (workbench)",
    "conll": "CoNLL (BIO, one column per label kind)",
    "spacy": "spaCy DocBin (.spacy)",
    "brat": "brat standoff (zip)",
    "labelstudio": "Label Studio JSON",
    "doccano": "doccano JSONL",
}


class NewProjectForm(FlaskForm):
    """Create a project: a name, a description and an optional label schema."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    schema = TextAreaField(
        "Label schema (JSON)",
        validators=[Optional()],
        description="Leave empty for the built-in news schema (entities, claims, cues, attributions).",
    )

    def validate_schema(self, field: Any) -> None:
        """Accept an empty box or one JSON object."""
        text = (field.data or "").strip()
        if not text:
            return
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValidationError("the schema must be a JSON object")

    def schema_value(self) -> dict[str, Any] | None:
        """Return the parsed schema, or None for the built-in one."""
        text = (self.schema.data or "").strip()
        return json.loads(text) if text else None


class AddMemberForm(FlaskForm):
    """Add a user to a project (or change their role there)."""

    username = StringField("User name", validators=[DataRequired(), Length(max=80)])
    role = SelectField("Role", choices=list(MEMBER_ROLES), default="annotator")


class GuidelinesForm(FlaskForm):
    """Edit a project's guidelines (markdown)."""

    guidelines = TextAreaField("Guidelines (markdown)", validators=[Optional(), Length(max=200_000)])


class ImportForm(FlaskForm):
    """Upload one or more files into a project."""

    files = MultipleFileField("Files", validators=[DataRequired(message="choose at least one file")])
    fmt = SelectField(
        "Format",
        choices=IMPORT_FORMATS,
        default="auto",
        description="auto: .txt and .md as plain text, .jsonl as JSON lines (or doccano), .json as Label Studio, .zip as brat, .html as HTML.",
    )
    label_map = StringField(
        "Label map",
        validators=[Optional(), Length(max=5000)],
        description="Another tool's labels and relation types onto this project's: PER=PERSON,affiliated_with=member_of",
    )

    def validate_label_map(self, field: Any) -> None:
        """Accept THEIRS=OURS pairs."""
        try:
            parse_label_map(field.data or "")
        except LabelMapError as exc:
            raise ValidationError(str(exc)) from None

    def label_map_value(self) -> dict[str, str]:
        """Return the parsed label map."""
        return parse_label_map(self.label_map.data or "")

    def validate_files(self, field: Any) -> None:
        """Refuse an upload without any named file."""
        if not [f for f in field.data or [] if getattr(f, "filename", "")]:
            raise ValidationError("choose at least one file")


class TokenForm(FlaskForm):
    """Create an API token with a name that says what it is for."""

    name = StringField("Token name", validators=[DataRequired(), Length(max=100)])


class PostForm(FlaskForm):
    """A form with nothing but its CSRF token (for buttons such as revoke)."""


__all__ = [
    "EXPORT_FORMAT_NAMES",
    "EXPORT_LAYERS",
    "IMPORT_FORMATS",
    "AddMemberForm",
    "GuidelinesForm",
    "ImportForm",
    "NewProjectForm",
    "PostForm",
    "TokenForm",
]
