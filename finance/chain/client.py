"""The treasury's view of the chain, over `AsyncWeb3`.

The embedded default is an in-process EVM (eth-tester); anything else is a JSON-RPC URL (anvil in
the tests, a real node in production). Network faults are retried with backoff and a cap; a
refusal by the chain (revert, bad nonce, no funds) is a business error and is not retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.providers.eth_tester import AsyncEthereumTesterProvider
from web3.types import TxReceipt

from finance.chain.artifacts import stablecoin_abi
from finance.chain.wallet import load_treasury_account
from finance.errors import ChainMisconfigured, PaymentRejected, TransientError
from finance.settings import Settings

TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError, TransientError)

rpc_retry = retry(
    retry=retry_if_exception_type(TRANSIENT),
    wait=wait_exponential_jitter(initial=0.2, max=5.0),
    stop=stop_after_attempt(6),
    reraise=True,
)


@dataclass(frozen=True)
class SignedTransfer:
    raw_tx: str
    tx_hash: str
    nonce: int
    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class TransferEvent:
    token: str
    sender: str
    receiver: str
    value: int


class ChainClient:
    def __init__(self, w3: AsyncWeb3, chain_id: int, account: LocalAccount, settings: Settings) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.account = account
        self.settings = settings

    @property
    def treasury_address(self) -> ChecksumAddress:
        return self.account.address

    @classmethod
    async def connect(cls, settings: Settings) -> ChainClient:
        if settings.embedded_chain:
            w3 = AsyncWeb3(AsyncEthereumTesterProvider())
        else:
            w3 = AsyncWeb3(
                AsyncWeb3.AsyncHTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": 10})
            )
        chain_id = await _chain_id(w3)
        if settings.chain_id is not None and settings.chain_id != chain_id:
            raise ChainMisconfigured(
                f"the node at {settings.chain_rpc_url} is chain {chain_id}, configuration expects "
                f"{settings.chain_id}; refusing to sign for the wrong chain"
            )
        return cls(w3, chain_id, load_treasury_account(settings), settings)

    async def close(self) -> None:
        provider = self.w3.provider
        if hasattr(provider, "disconnect"):
            await provider.disconnect()

    def token(self, address: str) -> AsyncContract:
        return self.w3.eth.contract(address=AsyncWeb3.to_checksum_address(address), abi=stablecoin_abi())

    @rpc_retry
    async def block_number(self) -> int:
        return await self.w3.eth.block_number

    @rpc_retry
    async def has_code(self, address: str) -> bool:
        return len(await self.w3.eth.get_code(AsyncWeb3.to_checksum_address(address))) > 0

    @rpc_retry
    async def token_balance(self, token: str, owner: str) -> int:
        return await self.token(token).functions.balanceOf(AsyncWeb3.to_checksum_address(owner)).call()

    @rpc_retry
    async def token_decimals(self, token: str) -> int:
        return await self.token(token).functions.decimals().call()

    @rpc_retry
    async def native_balance(self, owner: str) -> int:
        return await self.w3.eth.get_balance(AsyncWeb3.to_checksum_address(owner))

    @rpc_retry
    async def pending_nonce(self) -> int:
        return await self.w3.eth.get_transaction_count(self.treasury_address, "pending")

    @rpc_retry
    async def fee_quote(self) -> tuple[int, int]:
        """EIP-1559 (max_fee, priority): room for the base fee to double twice before we are outbid."""
        block = await self.w3.eth.get_block("latest")
        priority = await self.w3.eth.max_priority_fee
        return 2 * block["baseFeePerGas"] + priority, priority

    @rpc_retry
    async def estimate_transfer_gas(self, token: str, to: str, amount: int) -> int:
        """Simulate the transfer first: a payment that would revert is refused before it costs gas."""
        try:
            return await self.token(token).functions.transfer(to, amount).estimate_gas(
                {"from": self.treasury_address}
            )
        except ContractLogicError as exc:
            raise PaymentRejected(f"the token refused the transfer: {exc.message or exc}") from exc
        except Web3RPCError as exc:
            raise PaymentRejected(f"the node refused the transfer: {_rpc_message(exc)}") from exc

    async def sign_transfer(
        self, token: str, to: str, amount: int, *, nonce: int, gas_limit: int, max_fee: int, priority_fee: int
    ) -> SignedTransfer:
        call = self.token(token).functions.transfer(AsyncWeb3.to_checksum_address(to), amount)
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "from": self.treasury_address,
            "to": AsyncWeb3.to_checksum_address(token),
            "data": call._encode_transaction_data(),
            "value": 0,
            "nonce": nonce,
            "gas": gas_limit,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority_fee,
            "type": 2,
        }
        signed = self.account.sign_transaction(tx)
        return SignedTransfer(
            raw_tx="0x" + signed.raw_transaction.hex(),
            tx_hash="0x" + signed.hash.hex(),
            nonce=nonce,
            gas_limit=gas_limit,
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=priority_fee,
        )

    @rpc_retry
    async def broadcast(self, raw_tx: str, tx_hash: str) -> None:
        """Send a signed transaction. Sending the same bytes twice is harmless: same hash, same nonce."""
        try:
            await self.w3.eth.send_raw_transaction(raw_tx)
        except (Web3RPCError, ValueError) as exc:
            if await self._known(tx_hash):
                return
            raise PaymentRejected(f"the node refused the transaction: {_rpc_message(exc)}") from exc

    async def _known(self, tx_hash: str) -> bool:
        try:
            await self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    @rpc_retry
    async def receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return await self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    async def wait_for_confirmed_receipt(self, tx_hash: str) -> TxReceipt | None:
        """Poll until the receipt has the configured confirmations, or give up at the timeout (None)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.receipt_timeout_seconds
        delay = 0.01
        while True:
            receipt = await self.receipt(tx_hash)
            if receipt is not None:
                depth = await self.block_number() - receipt["blockNumber"] + 1
                if depth >= self.settings.confirmations:
                    return receipt
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def transfer_events(self, token: str, receipt: TxReceipt) -> list[TransferEvent]:
        contract = self.token(token)
        events = []
        for log in receipt["logs"]:
            if log["address"].lower() != token.lower():
                continue  # a Transfer from another contract proves nothing about ours
            try:
                event = contract.events.Transfer().process_log(log)
            except Exception:  # noqa: BLE001 - logs of other event types do not decode as Transfer
                continue
            events.append(
                TransferEvent(
                    token=log["address"],
                    sender=event["args"]["sender"],
                    receiver=event["args"]["receiver"],
                    value=event["args"]["value"],
                )
            )
        return events


@rpc_retry
async def _chain_id(w3: AsyncWeb3) -> int:
    return await w3.eth.chain_id


def _rpc_message(exc: Exception) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error") or {}
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc)
