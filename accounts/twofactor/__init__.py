"""Two-factor sign-in to the admin: a TOTP authenticator app (django-otp) as the second factor.

Any staff user may add one (the enrolment page, linked from the user tools); the members of the groups named in
ADMIN_2FA_REQUIRED_GROUPS, and superusers when ADMIN_2FA_REQUIRED_FOR_SUPERUSERS is on, must have one. After the
password, a user who has a confirmed authenticator, or must have one, is asked for its six-digit code (or is sent
to add one) before any admin page opens (`middleware`). A superuser removes the authenticator of a user who lost
the phone in the admin (`admin`); the user then adds a new one.

- `selectors`: who must have an authenticator, what a user must still do before the admin opens;
- `services`: the pending authenticator, its confirmation, a code checked (throttled), an authenticator removed;
- `qr`: the authenticator's address as an inline SVG QR code;
- `views`, `urls`, `forms`: the code and enrolment pages; `middleware`: the gate; `admin`: the devices' list.
"""
