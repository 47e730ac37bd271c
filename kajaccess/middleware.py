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


class ContentSecurityPolicyMiddleware:
    """Sends the Content-Security-Policy of settings.CONTENT_SECURITY_POLICY on every page.

    Every script and stylesheet is the project's own, so nothing inline is allowed.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.policy = "; ".join(
            f"{directive} {' '.join(sources)}"
            for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
        )
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class NotStoredMiddleware:
    """Sends `Cache-Control: private, no-store` with every response KajAccess makes.

    Every page is for one signed-in person, or carries the sign-in form's own CSRF token,
    and every export holds a site's customers: neither a shared proxy nor the browser's
    cache may keep one after the person signs out. Static files never get here:
    whitenoise, above this middleware, serves them with their own long caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers["Cache-Control"] = "private, no-store"
        return response
