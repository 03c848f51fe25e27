"""The commented client file that `runbook new` writes.

Every value the consultant must supply holds a FILL-IN marker. The file starts as a draft
(`draft: true`): validated with its markers tolerated, never published. Without the draft line
the markers are errors, so a half-filled file can never produce a runbook.
"""

from __future__ import annotations

from generator.model import MODELINE

TEMPLATE = """\
{modeline}
# Client file for Cutover Runbooks. Replace every FILL-IN marker, remove `draft: true`,
# then run
#   runbook validate {slug}
# Reference of every field: the site's "Client file" page, or `runbook schema`.
# Never write a password here: credentials are typed on site when asked.

draft: true                        # validated but never published; remove when complete
client: FILL-IN client display name
# consultant: Jordan Lee           # shown on the handout cover
# window: 2026-12-05               # planned MX switch date, YYYY-MM-DD

exchange:
  service_pack: 2                  # 0, 1 or 2
  servers:                         # the first is the server the migration names
    - name: FILL-IN-NETBIOS        # NetBIOS name, e.g. EXCH01
      fqdn: FILL-IN.ad.fqdn        # Active Directory FQDN, e.g. exch01.corp.local
      global_catalog: false        # true when this server is also a global catalog (SBS)
  # global_catalogs:               # only without a service pack (service_pack: 0)
  #   - {{name: DC01, fqdn: dc01.corp.local}}

rpc_proxy:
  public_fqdn: FILL-IN.public.fqdn # the name on the certificate, reached on TCP 443
  # certificate_name: mail.client.com   # when the certificate carries another name
  # front_end: {{name: FE01, fqdn: fe01.corp.local}}   # a separate front-end runs the proxy
  # tls_front: SonicWall TZ370 SSL offload   # what offers TLS 1.2 in front of IIS 6, if any
  authentication: basic            # basic or ntlm
  expose_rpc_ports: false          # true only if 6001-6002/6004 are published on the firewall

office365:
  admin: FILL-IN@tenant.onmicrosoft.com
  migration_account: FILL-IN\\migadmin   # DOMAIN\\user; its password is never written here
  # test_mailbox: someone@client.com     # an on-premises mailbox that is not hidden
  mailbox_permission: full_access  # full_access or admin
  # notification_emails: [you@your-firm.com] # default: the admin; none in a migrated domain
  # batch_name: {slug}-cutover
  # concurrent_mailboxes: 3        # 1-100; default derived from the upstream bandwidth

domains:
  - name: FILL-IN.mail.domain
    # mx_target: client-com.mail.protection.outlook.com   # as the admin center shows it
    # mx_ttl: 3600                 # the MX record's TTL today in seconds, as looked up

# network: {{upstream_mbps: 20}}
# mailboxes: {{count: 40, total_gb: 80}}
# outlook_versions: [2010, 2016]
# notes: |
#   Free notes in Markdown.
"""


def client_file(slug: str) -> str:
    """The text of a new, commented client file for `slug`."""
    return TEMPLATE.format(modeline=MODELINE, slug=slug)
