"""The demo logins: the creator and their team, support staff, a customer, another school."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

PASSWORD = "kajaccess-demo"

# email: (first name, last name, is_staff)
DEMO_USERS = {
    "creator@example.com": ("Casey", "Creator", False),
    "team@example.com": ("Taylor", "Team", False),
    "support@example.com": ("Sam", "Support", True),
    "ada@example.com": ("Ada", "Lovelace", False),
    "other@example.com": ("Olive", "Other", False),
    "va@example.com": ("Vera", "Assistant", False),
}

SUPPORT_GROUP = "Support team"
# What the support admin needs: read everything, change what the admin lets them change.
SUPPORT_PERMISSIONS = {
    "kajaccess": {"site": "view", "sitemembership": "view"},
    "auth": {"user": "view"},
    "contacts": {"contact": "view change", "tag": "view", "contacttag": "view"},
    "products": {"product": "view", "lesson": "view", "offer": "view", "lessoncompletion": "view"},
    "purchases": {
        "grant": "view change",
        "productaccess": "view",
        "purchase": "view",
        "subscription": "view change",
        "payment": "view",
        "accessevent": "view",
        "automation": "view",
        "bulkaction": "view",
    },
}


def ensure_users() -> dict[str, object]:
    """The demo logins by email, created the first time; support staff get their group."""
    User = get_user_model()
    users = {}
    for email, (first, last, is_staff) in DEMO_USERS.items():
        user = User.objects.filter(username=email).first()
        if user is None:
            user = User(username=email, email=email, first_name=first, last_name=last)
            user.is_staff = is_staff
            user.set_password(PASSWORD)
            user.save()
        users[email] = user
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    wanted = Q(pk__in=[])
    for app, models in SUPPORT_PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions.split()]
            wanted |= Q(content_type__app_label=app, codename__in=codenames)
    group.permissions.set(Permission.objects.filter(wanted))
    users["support@example.com"].groups.add(group)
    return users
