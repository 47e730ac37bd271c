from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    """Members go to the Contacts tab, customers to their Library, support to the admin."""
    if request.site is not None:
        return redirect("contacts:list")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("library:index")
