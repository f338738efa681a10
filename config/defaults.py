"""Default settings. Override with STOMPRO_<NAME> environment variables
(values parsed as JSON when they can be), DATABASE_URL, REDIS_URL, or an
``instance/stompro.cfg`` file."""

# Empty: the embedded SQLite database under instance/ is used and the demo
# clinic is loaded on first start.
SQLALCHEMY_DATABASE_URI = None
REDIS_URL = None

DEFAULT_LANGUAGE = "ru"
CLINIC_TIME_ZONE = "Europe/Moscow"

# Sign-in
SESSION_IDLE_MINUTES = 30
LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 5
API_TOKEN_HOURS = 12
SESSION_COOKIE_HTTPONLY = True
# True when the panel is served over HTTPS (directly or behind a TLS proxy):
# adds Strict-Transport-Security and makes the session cookie Secure.
HTTPS = False
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_DURATION = 0

# Forms
WTF_CSRF_TIME_LIMIT = None

# Lists
ADMIN_PAGE_SIZE = 50
EXPORT_MAX_ROWS = 10000

# Uploads
ATTACHMENTS_DIR = None  # default: instance/attachments
MAX_ATTACHMENT_MB = 20

# Planning
MAX_VISIT_MINUTES = 120
# A stage whose payment exceeds this (in the clinic's currency) is flagged in
# the payment schedule, so the coordinator discusses it early.
PAYMENT_FLAG_THRESHOLD = 100000

# Scheduling
# A booked or confirmed visit is overdue once its start has passed by this
# many minutes without the patient's arrival (`flask schedule mark-overdue`).
OVERDUE_GRACE_MINUTES = 15
# A cancellation less than this many hours before the visit counts as a late
# one in the owner's reports (reports.visits.no_shows).
LATE_CANCELLATION_HOURS = 24
# Documents gate (documents.gate): an informed consent signed without a plan is valid this many days.
CONSENT_VALID_DAYS = 365
# The domain in the UIDs of calendar events (appointment-<id>@<domain>): set
# the clinic's own, so that two clinics' visits never share a UID in one
# patient's calendar.
CALENDAR_DOMAIN = "stompro"
# The board's waiting room alerts when a patient has waited this many minutes.
WAITING_ALERT_MINUTES = 15

# Task book
# The owner's home page warns of a tab with more overdue open tasks than this.
TASK_OVERDUE_ALERT = 10

# Reports
# The owner's home page computes its figures at most this often (per
# process, per choice of branches and language), and says when it did.
HOME_FIGURES_SECONDS = 300

# Messages
# How SMS and e-mail leave: "console" only logs them (logger stompro.messages),
# "file:PATH" appends one JSON line per message (tests, dry runs), "http" posts
# SMS to a provider, "smtp" sends e-mail.
SMS_GATEWAY = "console"
EMAIL_GATEWAY = "console"
# The "http" SMS gateway. Header values may name environment variables as
# ${NAME}, so the provider's secret is never stored here. The body is a JSON
# template in which {recipient}, {body}, {dedupe_key} and {id} are replaced by
# their JSON-escaped values, e.g. {"to": "{recipient}", "text": "{body}"}.
# Every request carries Idempotency-Key: <the message's dedupe key>.
SMS_HTTP_URL = None
SMS_HTTP_METHOD = "POST"
SMS_HTTP_HEADERS = {}
SMS_HTTP_BODY = None
SMS_HTTP_SUCCESS = "200,201,202"  # the answers that count as sent
# The "smtp" e-mail gateway: TLS is "starttls", "ssl" or "none". The login
# comes from the environment variables STOMPRO_SMTP_USER and
# STOMPRO_SMTP_PASSWORD, when set.
SMTP_HOST = None
SMTP_PORT = 587
SMTP_TLS = "starttls"
SMTP_FROM = None
# Reminders (messaging.outbox): no message goes out within these hours of the
# branch's clock ("HH:MM-HH:MM", may span midnight; empty: none); one due
# then waits for their end.
QUIET_HOURS = "21:00-09:00"
# The dispatcher (`flask reminders dispatch`, every minute): how many due
# messages one job sends, the RQ queue the jobs go to (when REDIS_URL is set),
# and after how many minutes a message claimed but not sent (a worker died)
# is claimed again.
DISPATCH_BATCH_SIZE = 100
MESSAGES_QUEUE = "messages"
REAPER_TIMEOUT_MINUTES = 10
# A message the gateway could not send for a reason a retry may mend is tried
# again after these many seconds (then the next), four tries in all.
DISPATCH_RETRY_SECONDS = [10, 60, 300]

# Seeding: load the demo clinic on first start of the embedded database.
SEED_DEMO_ON_FIRST_START = True
