"""Staff accounts of the back office: how a person signs in to the admin (the second factor: `twofactor`;
the lockout after failed logins and the record of every login, logout and failure: `logins`)."""
