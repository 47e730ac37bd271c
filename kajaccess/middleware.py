from .models import SiteMembership

# The site a member of several sites chose to work on; without one, their first
# active membership is the current site, so most sessions never store it.
CURRENT_SITE_SESSION_KEY = "kajaccess_current_site"


class CurrentSiteMiddleware:
    """Sets `request.membership` and `request.site` for a signed-in member of a site.

    The current site is the one kept in the session, if the user is still an active
    member of it, else their first active membership; a suspended membership counts as
    none. `request.memberships` lists all their active memberships, for the site switcher.
    Every dashboard query starts from `request.site`; it is None for customers, support
    staff and anonymous visitors, whom the dashboard turns away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.site = None
        request.memberships = []
        if request.user.is_authenticated:
            request.memberships = list(
                SiteMembership.objects.select_related("site")
                .filter(user=request.user, status=SiteMembership.Status.ACTIVE)
                .order_by("pk")
            )
            self._choose(request)
        return self.get_response(request)

    def _choose(self, request) -> None:
        session = getattr(request, "session", None)
        wanted = session.get(CURRENT_SITE_SESSION_KEY) if session is not None else None
        memberships = request.memberships
        current = next((m for m in memberships if m.site_id == wanted), None)
        if wanted is not None and current is None:
            # No longer a member there (removed or suspended): forget it, so that the
            # fallback below stays the current site until the next switch.
            session.pop(CURRENT_SITE_SESSION_KEY, None)
        current = current or (memberships[0] if memberships else None)
        if current is not None:
            request.membership = current
            request.site = current.site


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
