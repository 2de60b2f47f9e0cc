"""Flask-WTF forms of the pages (every one carries a CSRF token)."""

from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import FileField
from wtforms import IntegerField
from wtforms import MultipleFileField
from wtforms import SelectMultipleField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from workbench.domain.numbers import whole_number
from workbench.formats._foreign import LabelMapError
from workbench.formats._foreign import parse_label_map
from workbench.models import MEMBER_ROLES
from workbench.services.exporting import ready_format_choices

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
    as_predictions = StringField(
        "Import as predictions of model",
        validators=[Optional(), Length(max=180)],
        description="A model name, e.g. ner-v2: every annotated layer in the files becomes that model's predictions, "
        "shown to annotators as suggestions. Leave empty to import layers as the files say.",
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


class SettingsForm(FlaskForm):
    """How a project hands out documents."""

    annotators_per_document = StringField(
        "Annotators per document",
        validators=[Length(max=10)],
        description="How many people annotate each document (k); leave empty for every annotator.",
    )
    assignment = SelectField(
        "Assignment",
        choices=["queue", "manual"],
        description="queue: annotators take the next document; manual: curators assign documents.",
    )
    queue_order = SelectField(
        "Queue order",
        choices=["oldest", "random"],
        description="oldest: import order; random: a stable shuffle of its own for each annotator.",
    )
    abandon_after = StringField(
        "Return to the queue after",
        validators=[DataRequired(), Length(max=20)],
        description="An unfinished queue document with no save for this long goes to someone else: 2h, 90m, 1d, or 0 for never.",
    )

    merge_rule = SelectField(
        "Agreed items enter gold when",
        choices=["majority", "unanimous"],
        description="majority: more than half of a document's annotators share them; unanimous: all of them do.",
    )
    hide_annotator_names = BooleanField(
        "Hide annotator names on the adjudication page",
        description="Curators see Annotator 1, 2, 3 instead of names; provenance still records who.",
    )
    ready_formats = SelectMultipleField(
        "Export formats kept ready",
        choices=[SelectChoice(name, EXPORT_FORMAT_NAMES[name]) for name in ready_format_choices()],
        description="Each layer's record in these formats is stored as soon as the layer changes (a save, an import), "
        "so their exports copy stored records, about 2 s for 100,000 documents; a format ticked here has its records "
        "built in the background at once. Each format kept costs imports of annotated documents time "
        "(7-12 s per 100,000) and the database about the size of an export.",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def validate_annotators_per_document(self, field: Any) -> None:
        """Accept an empty box or a whole number from 1."""
        text = (field.data or "").strip()
        if text and not whole_number(text):
            raise ValidationError("a whole number from 1, or empty for every annotator")

    def changes(self) -> dict[str, Any]:
        """Return the settings as ``services.assignment.update_settings`` takes them."""
        text = (self.annotators_per_document.data or "").strip()
        return {
            "annotators_per_document": int(text) if text else None,
            "assignment": self.assignment.data,
            "queue_order": self.queue_order.data,
            "abandon_after": (self.abandon_after.data or "").strip(),
        }

    def adjudication_changes(self) -> dict[str, Any]:
        """Return the adjudication settings as ``services.adjudication.update_adjudication_settings`` takes them."""
        return {"merge_rule": self.merge_rule.data, "hide_annotator_names": bool(self.hide_annotator_names.data)}


class AssignForm(FlaskForm):
    """Assign documents to annotators in bulk."""

    users = SelectMultipleField("Annotators", validators=[DataRequired(message="choose at least one annotator")], coerce=str)
    documents = TextAreaField(
        "Documents",
        validators=[Optional(), Length(max=400_000)],
        description="External ids, one per line. Leave empty to assign the next documents that still need annotators.",
    )
    count = IntegerField("How many", validators=[Optional(), NumberRange(min=1, max=10_000)], default=10)


class AutoMergeForm(FlaskForm):
    """Fill gold in bulk with what the annotators agree on."""

    rule = SelectField(
        "Merge rule",
        choices=["majority", "unanimous"],
        description="majority: what more than half of a document's annotators share; unanimous: what all of them share.",
    )
    finish = BooleanField("Also mark those documents adjudicated")


class EvaluateForm(FlaskForm):
    """Upload an extractor's predictions to score against gold."""

    file = FileField("Predictions (JSONL)", validators=[DataRequired(message="choose a predictions file")],
                     description="One record per document, in the dataset format (docs/format.md), with the same ids and texts as gold.")
    mode = SelectField("Mark in the text", choices=["exact", "overlap"], description="Which match decides what counts as found.")


class GazetteerForm(FlaskForm):
    """Upload a project's gazetteer (replaces the one it has)."""

    file = FileField("Gazetteer (TSV)", validators=[DataRequired(message="choose a gazetteer file")],
                     description="One 'text<TAB>LABEL' per line, labels from the project's schema; # starts a comment. Replaces the current list.")


class PostForm(FlaskForm):
    """A form with nothing but its CSRF token (for buttons such as revoke)."""


__all__ = [
    "EXPORT_FORMAT_NAMES",
    "EXPORT_LAYERS",
    "IMPORT_FORMATS",
    "AddMemberForm",
    "AssignForm",
    "AutoMergeForm",
    "EvaluateForm",
    "GuidelinesForm",
    "ImportForm",
    "NewProjectForm",
    "PostForm",
    "SettingsForm",
    "TokenForm",
]
