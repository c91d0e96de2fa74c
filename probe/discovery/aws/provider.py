"""The AWS provider: accounts x regions x services discovered concurrently, failures kept as values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from probe.discovery.aws import endpoints, inventory, posture
from probe.discovery.aws.session import Account, ClientFactory, account_error, account_of_arn, base_session, pages
from probe.discovery.aws.unit import GLOBAL_REGION, Unit
from probe.discovery.base import DiscoveryItem, scope_status
from probe.discovery.models import ALL_SERVICES, AcmCertificate, AwsOptions, KmsKey
from probe.discovery.posture_models import AWS_RESOURCE_TYPES
from probe.errors import InputError
from probe.models import DiscoveryError

__all__ = ["AwsProvider"]

_COLLECTORS: dict[str, Callable[[Unit], None]] = {**endpoints.COLLECTORS, **inventory.COLLECTORS,
                                                  **posture.COLLECTORS}
_GLOBAL_SERVICES = {"cloudfront"}
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_ERRORS = (ClientError, BotoCoreError)


def _validate(options: AwsOptions) -> None:
    unknown = sorted(set(options.services) - set(ALL_SERVICES))
    if unknown:
        raise InputError(f"unknown AWS service(s) {', '.join(unknown)} (known: {', '.join(ALL_SERVICES)})")
    if options.regions != ("all",):
        bad = [r for r in options.regions if not _REGION_RE.match(r)]
        if bad:
            raise InputError(f"not an AWS region name: {bad[0]!r} (e.g. eu-west-1, or 'all')")
    for arn in options.role_arns:
        if not re.match(r"^arn:aws[\w-]*:iam::\d{12}:role/.+$", arn):
            raise InputError(f"not an IAM role ARN: {arn!r}")


class AwsProvider:
    """Discovers TLS endpoints, ACM/KMS posture and the estate's encryption posture (S3, EBS, RDS, EFS, Backup,
    Secrets Manager, SSM, CloudTrail) in AWS. Read-only metadata calls: Describe*/List*/Get* of configuration,
    never data (and sts:AssumeRole for --role-arn/--org-role). `client_hook` sees every client created (tests use
    it to install botocore event handlers)."""

    name = "aws"

    def __init__(self, options: AwsOptions, *, client_hook: Callable[[Any], None] | None = None) -> None:
        _validate(options)
        self.options = options
        self._factory = ClientFactory(options, client_hook)

    # -- accounts and regions -------------------------------------------------------------------
    def _assume(self, session: boto3.Session, role_arn: str) -> Account | DiscoveryError:
        try:
            return Account(account_of_arn(role_arn), self._factory.assume(session, role_arn, self.options.external_id))
        except _AWS_ERRORS as exc:
            return account_error(account_of_arn(role_arn), "sts", exc)

    def _organisation_roles(self, session: boto3.Session, caller: str) -> tuple[list[str], list[DiscoveryError]]:
        try:
            org = self._factory.client(session, "organizations", self._factory.home_region(session))
            ids = [a["Id"] for a in pages(org, "list_accounts", "Accounts") if a.get("Status") == "ACTIVE"]
        except _AWS_ERRORS as exc:
            return [], [account_error(caller, "organizations", exc)]
        role = self.options.org_role
        roles = [f"arn:aws:iam::{account_id}:role/{role}" for account_id in ids if account_id != caller]
        return roles, []

    def _accounts(self, pool: ThreadPoolExecutor, session: boto3.Session,
                  caller: str) -> tuple[list[Account], list[DiscoveryError]]:
        roles = list(self.options.role_arns)
        errors: list[DiscoveryError] = []
        accounts: list[Account] = []
        if self.options.org_role:
            org_roles, errors = self._organisation_roles(session, caller)
            roles += org_roles
            accounts.append(Account(caller, session))  # the caller's own account, with its own credentials
        elif not roles:
            accounts.append(Account(caller, session))
        for result in pool.map(lambda arn: self._assume(session, arn), roles):
            (errors if isinstance(result, DiscoveryError) else accounts).append(result)  # type: ignore[arg-type]
        unique = {a.account_id: a for a in reversed(accounts)}
        return [unique[k] for k in dict.fromkeys(a.account_id for a in accounts)], errors

    def _regions(self, account: Account) -> tuple[list[str], list[DiscoveryError]]:
        if self.options.regions == ("all",):
            try:
                return self._factory.enabled_regions(account), []
            except _AWS_ERRORS as exc:
                home = self._factory.home_region(account.session)
                return [home], [account_error(account.account_id, "ec2", exc)]
        return list(self.options.regions) or [self._factory.home_region(account.session)], []

    # -- units ----------------------------------------------------------------------------------
    def _units(self, account: Account, regions: list[str]) -> list[Unit]:
        regional = [s for s in self.options.services if s not in _GLOBAL_SERVICES]
        units = [Unit(account, region, service, self._factory) for region in regions for service in regional]
        global_ = [s for s in self.options.services if s in _GLOBAL_SERVICES]
        units += [Unit(account, GLOBAL_REGION, service, self._factory) for service in global_]
        return units

    @staticmethod
    def _run(unit: Unit) -> list[DiscoveryItem]:
        try:
            _COLLECTORS[unit.service](unit)
        except _AWS_ERRORS as exc:
            unit.fail(exc)
        except Exception as exc:  # a bug or an unexpected reply: reported as this unit's error, never hidden
            unit.fail(exc, "internal")
        # KmsKeyIndex (the keys that resources name) is not a posture item of its own
        unit.items.append(scope_status(unit.items, provider="aws", account=unit.account.account_id,
                                       region=unit.region, service=unit.service,
                                       posture_types=(AcmCertificate, KmsKey, *AWS_RESOURCE_TYPES)))
        return unit.items

    def items(self) -> Iterator[DiscoveryItem]:
        """Stream every target, posture item, declared policy, error and scope status."""
        session = base_session(self.options)
        caller = self._factory.caller_account(session)
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="aws-discovery") as pool:
            accounts, errors = self._accounts(pool, session, caller)
            yield from errors
            pending: dict[Future[Any], Account | None] = {pool.submit(self._regions, a): a for a in accounts}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    account = pending.pop(future)
                    if account is None:
                        yield from future.result()
                        continue
                    regions, region_errors = future.result()
                    yield from region_errors
                    for unit in self._units(account, regions):
                        pending[pool.submit(self._run, unit)] = None
