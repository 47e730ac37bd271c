from .models import SiteMembership


class CurrentSiteMiddleware:
    """Sets `request.membership` and `request.site` for a signed-in member of a site.

    Every dashboard query starts from `request.site`; it is None for customers,
    support staff and anonymous visitors, whom the dashboard turns away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.site = None
        if request.user.is_authenticated:
            request.membership = (
                SiteMembership.objects.select_related("site")
                .filter(user=request.user)
                .order_by("pk")
                .first()
            )
            if request.membership:
                request.site = request.membership.site
        return self.get_response(request)
