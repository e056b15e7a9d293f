"""Both drill services started together, with the environment a live run needs to use them.

`drill_services()` makes a fresh certificate, serves `DrillOpenAI` and `DrillAzure` over https on 127.0.0.1,
and yields a `DrillServices` whose `environment` is what to set (and `cleared`, what to unset) for the
notebooks' live code path to talk to them: `LABS_MODE=live`, a dummy OpenAI key, the two endpoints, the
Azure deployment, the managed-identity endpoint `DefaultAzureCredential` gets its token from, and the CA
bundle for requests (`REQUESTS_CA_BUNDLE`) and for aiohttp and httpx (`SSL_CERT_FILE`). aiohttp reads
`SSL_CERT_FILE` once, when it is first imported: set the environment before the process imports it (a
notebook kernel started with it does).
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ....config import environment
from .azure import DrillAzure
from .openai import DrillOpenAI
from .tls import DrillCertificate, make_certificate

__all__ = ["CLEARED", "DrillServices", "drill_services"]

# Variables that would send DefaultAzureCredential elsewhere (a service principal, another managed identity)
# or make clients trust other certificates; a drill run unsets them.
CLEARED = (
    "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME",
    "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "MSI_ENDPOINT", "MSI_SECRET",
    "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
)  # fmt: skip


@dataclass
class DrillServices:
    """The running drill services and the environment that points a live run at them."""

    openai: DrillOpenAI
    azure: DrillAzure
    certificate: DrillCertificate
    environment: dict[str, str] = field(default_factory=dict)
    cleared: tuple[str, ...] = CLEARED

    def shell_exports(self) -> str:
        """The environment as shell commands (`unset ...`, then one `export` per variable)."""
        lines = [f"unset {' '.join(self.cleared)}"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.environment.items()]
        return "\n".join(lines)

    def applied(self) -> AbstractContextManager[None]:
        """Inside the block, `os.environ` is the drill's environment; the previous values come back after."""
        return environment(self.environment, self.cleared)


@contextmanager
def drill_services(
    seed: int = 2026, *, openai_pace: float = 1.0, azure_pace: float = 0.1, azure_deployment: str = "gpt-4o-mini-drill"
) -> Iterator[DrillServices]:
    """Serve both drill services over https until the block ends; `*_pace` scales their waits (1 = real time, 0 = none)."""
    folder = Path(tempfile.mkdtemp(prefix="labs-drill-"))
    openai, azure = DrillOpenAI(seed=seed, pace=openai_pace), DrillAzure(seed=seed, pace=azure_pace, deployment=azure_deployment)
    try:
        certificate = make_certificate(folder)
        for service in (openai, azure):
            service.use_tls(str(certificate.certfile), str(certificate.keyfile)).start()
        environment = {
            "LABS_MODE": "live",
            "OPENAI_API_KEY": openai.api_key,
            "OPENAI_BASE_URL": openai.base_url,
            "PROJECT_ENDPOINT": azure.endpoint,
            **azure.environment(),
            "REQUESTS_CA_BUNDLE": str(certificate.ca_bundle),
            "SSL_CERT_FILE": str(certificate.ca_bundle),
        }
        yield DrillServices(openai, azure, certificate, environment)
    finally:
        openai.stop()
        azure.stop()
        shutil.rmtree(folder, ignore_errors=True)
