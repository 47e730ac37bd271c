"""The forms of Settings > Team: add a member, change a role, transfer ownership."""

from django import forms

from kajaccess.forms import SingleLineField
from kajaccess.models import SiteMembership
from kajaccess.team.services import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, assignable_roles


class AddMemberForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        error_messages={"required": "Enter the email address of the person to add."},
    )
    name = SingleLineField(
        label="Name",
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text="Used for a new account; someone who already has one keeps their name.",
    )
    role = forms.ChoiceField(
        label="Role", choices=assignable_roles, initial=SiteMembership.Role.ASSISTANT
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="off")


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=assignable_roles,
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose one of the roles in the list.",
        },
    )


class TransferOwnershipForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password to transfer ownership."},
    )
