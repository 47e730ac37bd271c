"""The only code that adds a contact, changes its name and email, and changes its tags."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact, ContactCount, ContactTag, Tag
from contacts.signals import contacts_changed, tag_added
from kajaccess.actors import Actor
from kajaccess.models import Site
from kajaccess.outcomes import Outcome
from kajaccess.team import invitations
from kajaccess.team.selectors import needs_invitation
from kajaccess.team.services import user_for_email

EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 200


def tag_get_or_create(*, site: Site, name: str) -> Tag:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("A tag needs a name.")
    if len(name) > 80:
        raise ValidationError("A tag name can be at most 80 characters.")
    existing = Tag.objects.filter(site=site, name__iexact=name).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Tag.objects.create(site=site, name=name)
    except IntegrityError:
        return Tag.objects.get(site=site, name__iexact=name)


def add_tag(*, tag: Tag, contact_ids: Iterable[int], actor: Actor, bulk_action=None) -> list[int]:
    """Tag many contacts of the tag's site; returns the ids that did not have it before.

    Automations on "a tag is added" run once for each of those contacts, after commit.
    """
    with transaction.atomic():
        ids = list(
            Contact.objects.filter(pk__in=list(contact_ids), site_id=tag.site_id)
            .exclude(contacttag__tag=tag)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        ContactTag.objects.bulk_create(
            [ContactTag(contact_id=pk, tag=tag, added_at=now) for pk in ids],
            ignore_conflicts=True,
        )
        if ids:
            transaction.on_commit(
                lambda: tag_added.send(
                    sender=Tag,
                    site_id=tag.site_id,
                    tag=tag,
                    contact_ids=ids,
                    actor=actor,
                    bulk_action=bulk_action,
                )
            )
    return ids


def remove_tag(*, tag: Tag, contact_ids: Iterable[int], actor: Actor) -> list[int]:
    """Untag many contacts; returns the ids that had the tag."""
    with transaction.atomic():
        links = ContactTag.objects.filter(
            tag=tag, contact_id__in=list(contact_ids), contact__site_id=tag.site_id
        )
        ids = sorted(links.values_list("contact_id", flat=True))
        ContactTag.objects.filter(tag=tag, contact_id__in=ids).delete()
    return ids


# --- Adding a contact and editing its name and email ------------------------------------


class EmailTaken(ValidationError):
    """The email is already a contact's on this site; `contact` is that contact."""

    def __init__(self, contact: Contact):
        self.contact = contact
        super().__init__(
            {"email": f"{contact.email} is already a contact here: {contact.display_name}."},
            code="email_taken",
        )


class StaleContact(ValidationError):
    """The contact changed after the form was shown; `contact` holds what it is now."""

    def __init__(self, contact: Contact):
        self.contact = contact
        super().__init__(
            "Someone changed this contact while you were editing it: it is now "
            f"“{contact.name or 'no name'}”, {contact.email}. Nothing was saved; "
            "check the form and save again.",
            code="stale",
        )


def clean_contact_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError({"email": "Enter the contact's email address."}, code="required")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            {"email": f"An email address has at most {EMAIL_MAX_LENGTH} characters."},
            code="email",
        )
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": f"“{email}” is not an email address."}, code="email"
        ) from None
    # The part after the @ has no letter case, so it is kept as mail servers write it.
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_contact_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": f"A name can be at most {NAME_MAX_LENGTH} characters."}, code="name"
        )
    return name


def contact_with_email(*, site: Site, email: str, exclude: Contact | None = None) -> Contact | None:
    """The site's contact with this email in any letter case, if there is one."""
    found = Contact.objects.filter(site=site, email__iexact=email)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return found.order_by("pk").first()


def contact_create(
    *,
    site: Site,
    email: str,
    name: str = "",
    tags: Iterable[Tag] = (),
    new_tag_names: Iterable[str] = (),
    actor: Actor,
    library_sign_in: bool = False,
    site_url: str = "",
) -> Contact:
    """Add a contact to `site`, tagged, its addition in its Activity.

    An email already on the site in any letter case raises EmailTaken and creates
    nothing. With `library_sign_in` the contact gets a login of its own (the existing
    account of that email, or a new one), and a new login an invitation to set its
    password, sent once the contact is committed.
    """
    email, name = clean_contact_email(email), clean_contact_name(name)
    tags = list(tags)
    if any(tag.site_id != site.pk for tag in tags):
        raise ValidationError({"tags": "Choose tags of this site."}, code="tags")
    with transaction.atomic():
        existing = contact_with_email(site=site, email=email)
        if existing is not None:
            raise EmailTaken(existing)
        contact = Contact(site=site, email=email, name=name)
        contact.full_clean(exclude=["user"], validate_constraints=False)
        try:
            with transaction.atomic():
                contact.save()
        except IntegrityError:
            # The same email was added at the same moment.
            raise EmailTaken(contact_with_email(site=site, email=email)) from None
        _count_added(site=site, added=1)
        tags += [tag_get_or_create(site=site, name=tag_name) for tag_name in new_tag_names]
        tags = list({tag.pk: tag for tag in tags}.values())
        for tag in tags:
            add_tag(tag=tag, contact_ids=[contact.pk], actor=actor)
        details = {"email": email, "name": name, "tags": sorted(tag.name for tag in tags)}
        if library_sign_in:
            contact.user = user_for_email(email, name)
            contact.save(update_fields=["user"])
            details["library_sign_in"] = True
            if needs_invitation(contact.user):
                transaction.on_commit(
                    lambda: invitations.send_library_invitation(
                        contact=contact, inviter=actor.user, site_url=site_url
                    )
                )
        contacts_changed.send(
            sender=Contact,
            site_id=site.pk,
            actor=actor,
            kind="added",
            changes={contact.pk: details},
        )
    return contact


def contact_update(
    *,
    contact: Contact,
    name: str,
    email: str,
    shown_name: str,
    shown_email: str,
    actor: Actor,
) -> Outcome:
    """Change a contact's name and email; the change, old and new, goes in its Activity.

    `shown_name` and `shown_email` are what the form showed: if the contact no longer
    has them, StaleContact is raised and nothing changes. An email another contact of
    the site has, in any letter case, raises EmailTaken.
    """
    email, name = clean_contact_email(email), clean_contact_name(name)
    with transaction.atomic():
        locked = Contact.objects.select_for_update(no_key=True).filter(
            pk=contact.pk, site_id=contact.site_id
        )
        locked = locked.first()
        if locked is None:
            raise ValidationError("This contact is no longer here.", code="gone")
        if (locked.name, locked.email) != (shown_name, shown_email):
            raise StaleContact(locked)
        changes = {
            field: [old, new]
            for field, old, new in (("name", locked.name, name), ("email", locked.email, email))
            if old != new
        }
        if not changes:
            return Outcome(locked, False, f"{locked.display_name} is unchanged.")
        if "email" in changes:
            existing = contact_with_email(site=locked.site, email=email, exclude=locked)
            if existing is not None:
                raise EmailTaken(existing)
        locked.name, locked.email = name, email
        try:
            with transaction.atomic():
                locked.save(update_fields=list(changes))
        except IntegrityError:
            raise EmailTaken(
                contact_with_email(site=locked.site, email=email, exclude=locked)
            ) from None
        contacts_changed.send(
            sender=Contact,
            site_id=locked.site_id,
            actor=actor,
            kind="edited",
            changes={locked.pk: changes},
        )
    return Outcome(locked, True, f"{locked.display_name}’s details are saved.")


def _count_added(*, site: Site, added: int) -> None:
    """Add `added` to the site's ContactCount, in the caller's transaction.

    One row per site: the lock its update takes is held only until the adding
    transaction commits, a form's single contact or one chunk of an import. A site
    without the row yet gets it counted from its contacts, those just added included.
    """
    if not added:
        return
    if ContactCount.objects.filter(site=site).update(contacts=F("contacts") + added):
        return
    counted = Contact.objects.filter(site=site).count()
    _, created = ContactCount.objects.get_or_create(site=site, defaults={"contacts": counted})
    if not created:
        # Another transaction counted the site first, without the contacts added here.
        ContactCount.objects.filter(site=site).update(contacts=F("contacts") + added)


def contacts_recount(*, site: Site) -> int:
    """Count the site's contacts again into its ContactCount, and return the count.

    For contacts written straight into the table (demo data, benchmarks' seeds, tests'
    factories), which no service has counted.
    """
    with transaction.atomic():
        counted = Contact.objects.filter(site=site).count()
        ContactCount.objects.update_or_create(site=site, defaults={"contacts": counted})
    return counted


def contacts_create(
    *, site: Site, people: Iterable[tuple[str, str]], actor: Actor, bulk_action=None
) -> dict[str, int]:
    """Add many contacts to `site` at once; the ids of those added, by lowercase email.

    Each (email, name) is already clean (`clean_contact_email`, `clean_contact_name`).
    An email already on the site in any letter case, or added meanwhile by someone else,
    is left out. Each addition goes in its contact's Activity, in the same transaction.
    """
    wanted = {email.lower(): (email, name) for email, name in people}
    now = timezone.now()
    by_email = Contact.objects.filter(site=site).annotate(key=Lower("email"))
    with transaction.atomic():
        taken = set(by_email.filter(key__in=list(wanted)).values_list("key", flat=True))
        new = [
            Contact(site=site, email=e, name=n, created_at=now)
            for k, (e, n) in wanted.items()
            if k not in taken
        ]
        if not new:
            return {}
        Contact.objects.bulk_create(new, ignore_conflicts=True)
        # A conflict leaves no id behind: the rows of this insert are those of its instant.
        added = dict(
            by_email.filter(created_at=now, key__in=[c.email.lower() for c in new]).values_list(
                "key", "pk"
            )
        )
        _count_added(site=site, added=len(added))
        contacts_changed.send(
            sender=Contact,
            site_id=site.pk,
            actor=actor,
            kind="added",
            changes={
                pk: {"email": wanted[key][0], "name": wanted[key][1]} for key, pk in added.items()
            },
            bulk_action=bulk_action,
        )
    return added


def contacts_rename(
    *, site: Site, names: dict[int, tuple[str, str]], actor: Actor, bulk_action=None
) -> list[int]:
    """Give many contacts of `site` new names: {id: (old name, new name)}; the ids renamed.

    A contact whose name is no longer the old one is left as it is. Each change, old and
    new, goes in its contact's Activity.
    """
    with transaction.atomic():
        locked = (
            Contact.objects.select_for_update(no_key=True)
            .filter(site=site, pk__in=list(names))
            .order_by("pk")
        )
        renamed = []
        for contact in locked:
            old, new = names[contact.pk]
            if contact.name == old and old != new:
                contact.name = clean_contact_name(new)
                renamed.append(contact)
        Contact.objects.bulk_update(renamed, ["name"])
        if renamed:
            contacts_changed.send(
                sender=Contact,
                site_id=site.pk,
                actor=actor,
                kind="edited",
                changes={c.pk: {"name": [names[c.pk][0], c.name]} for c in renamed},
                bulk_action=bulk_action,
            )
    return [contact.pk for contact in renamed]
