"""Form fields of the patients domain."""
from wtforms import StringField

from ..errors import DomainError
from .phones import normalize_phone


class PhoneField(StringField):
    """Accepts a phone in any common format and holds it as E.164, so a bad
    number is a field error before anything is written."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            try:
                self.data = normalize_phone(self.data)
            except DomainError as error:
                self.data = valuelist[0] if valuelist else ""
                raise ValueError(str(error.message)) from None
