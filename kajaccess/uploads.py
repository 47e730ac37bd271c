"""Refusing an uploaded file that is too large while it arrives, not once it is on disk."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading a file past FILE_UPLOAD_MAX_SIZE and marks the request for the view.

    Django bounds the memory an upload takes, not its size, so a 1 GB file would be
    written to a temporary file in full before any view could refuse it. The fields before
    the file (the CSRF token first) are read as usual; the rest of the body is read and
    dropped, so that the browser gets the refusal instead of a broken connection.
    """

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.FILE_UPLOAD_MAX_SIZE:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None
