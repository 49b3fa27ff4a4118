-- The workspace a console session acts in when a request names none: the person's pick in the
-- header's switcher, kept with the session so that what the browser fetches by itself (the live
-- event streams, images and videos, download links) acts in the same workspace as the page.
-- A preference, not a grant: every request still checks the membership.
ALTER TABLE gateway.sessions ADD COLUMN workspace text;
