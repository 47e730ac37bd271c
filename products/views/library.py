"""The customer Library: the Products a signed-in contact can open now, and their lessons.

Whether a customer may open a Product is asked of purchases.selectors.has_access, the
same selector the dashboard uses; anything else is the same friendly 404 whatever the
reason, so a URL never tells a customer what exists or why it is closed.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contacts.models import Contact
from kajaccess.views import page_not_found
from kajaccess.web import NotFound
from products import services
from products.models import Lesson, LessonCompletion, Product
from purchases.access.selectors import has_access, library_products

NOT_IN_LIBRARY = "This product isn't in your Library."


class Refused(Exception):
    """The customer cannot open this Product now; why is never told."""


def _open_product(request, product_id: int) -> tuple[Product, Contact]:
    """The Product and the user's contact on its site, if that contact can open it now."""
    product = Product.objects.select_related("site").filter(pk=product_id).first()
    contact = (
        Contact.objects.filter(user=request.user, site_id=product.site_id).first()
        if product
        else None
    )
    if contact is None or not has_access(contact, product):
        raise Refused
    return product, contact


def refused_as_not_found(view):
    """A refused Product is the friendly 404 page, also while DEBUG shows Django's own."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refused:
            return page_not_found(request, NotFound(NOT_IN_LIBRARY))

    return wrapper


def _lessons(product: Product, contact: Contact) -> list[Lesson]:
    done = LessonCompletion.objects.filter(contact=contact, lesson=OuterRef("pk"))
    return list(product.lessons.defer("body").annotate(done=Exists(done)).order_by("position"))


@login_required
def index(request):
    contacts = Contact.objects.filter(user=request.user).select_related("site")
    schools = []
    for contact in contacts.order_by("site__name", "pk"):
        products = list(library_products(contact))
        if products:
            schools.append({"site": contact.site, "products": products})
    return render(request, "library/index.html", {"schools": schools})


@login_required
@refused_as_not_found
def product(request, product_id: int):
    product, contact = _open_product(request, product_id)
    lessons = _lessons(product, contact)
    return render(
        request,
        "library/product.html",
        {
            "product": product,
            "lessons": lessons,
            "lessons_done": sum(lesson.done for lesson in lessons),
            "next_lesson": next((lesson for lesson in lessons if not lesson.done), None),
        },
    )


@login_required
@refused_as_not_found
def lesson(request, product_id: int, lesson_id: int):
    product, contact = _open_product(request, product_id)
    lessons = _lessons(product, contact)
    index = next((i for i, item in enumerate(lessons) if item.pk == lesson_id), None)
    if index is None:
        raise Refused
    current = Lesson.objects.get(pk=lesson_id)
    return render(
        request,
        "library/lesson.html",
        {
            "product": product,
            "lesson": current,
            "done": lessons[index].done,
            "number": index + 1,
            "lessons_total": len(lessons),
            "lessons_done": sum(item.done for item in lessons),
            "previous_lesson": lessons[index - 1] if index > 0 else None,
            "next_lesson": lessons[index + 1] if index + 1 < len(lessons) else None,
        },
    )


@login_required
@require_POST
@refused_as_not_found
def complete(request, product_id: int, lesson_id: int):
    product, contact = _open_product(request, product_id)
    lesson = Lesson.objects.filter(pk=lesson_id, product=product).select_related("product").first()
    if lesson is None:
        raise Refused
    _, created = services.complete_lesson(contact=contact, lesson=lesson)
    if created:
        messages.success(request, f"“{lesson.title}” marked complete.")
    else:
        messages.info(request, f"You had already completed “{lesson.title}”.")
    return redirect("library:lesson", product_id=product.pk, lesson_id=lesson.pk)
