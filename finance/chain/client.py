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
from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.providers.eth_tester import AsyncEthereumTesterProvider

from finance.chain.artifacts import stablecoin_abi
from finance.chain.wallet import load_treasury_account
from finance.errors import ChainMisconfigured, PaymentRejected, TransientError
from finance.metrics import record_rpc_error
from finance.settings import Settings

# ERC-20 selectors and the Transfer event topic.
_TRANSFER = "0xa9059cbb"
_BALANCE_OF = "0x70a08231"
_TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()

_FEE_QUOTE_TTL = 2.0

TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError, TransientError)


def _count_failure(state) -> None:
    # Every failed attempt counts, retried or not: a node that needs retries is worth seeing on a dashboard.
    record_rpc_error(getattr(state.fn, "__name__", "rpc"))


rpc_retry = retry(
    retry=retry_if_exception_type(TRANSIENT),
    wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
    stop=stop_after_attempt(6),
    before_sleep=_count_failure,
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


class RpcRefused(Exception):
    """The node answered with a JSON-RPC error (a revert, a bad nonce): final, not retried."""


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    logs: tuple[Log, ...]


@dataclass(frozen=True)
class ChainTransaction:
    """A transaction as the node reports it, mined or not (`block_number` None while pending)."""

    tx_hash: str
    sender: str
    to: str | None
    value: int
    data: bytes
    nonce: int
    block_number: int | None


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
        self._contracts: dict[str, AsyncContract] = {}
        self._fee_quote: tuple[float, tuple[int, int]] | None = None

    @property
    def treasury_address(self) -> ChecksumAddress:
        return self.account.address

    @classmethod
    async def connect(cls, settings: Settings) -> ChainClient:
        if settings.embedded_chain:
            w3 = AsyncWeb3(AsyncEthereumTesterProvider())
        else:
            w3 = AsyncWeb3(AsyncHTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": 10}))
        chain_id = await _chain_id(w3)
        if settings.chain_id is not None and settings.chain_id != chain_id:
            raise ChainMisconfigured(
                f"the node at {settings.chain_rpc_url} is chain {chain_id}, configuration expects "
                f"{settings.chain_id}; refusing to sign for the wrong chain"
            )
        return cls(w3, chain_id, load_treasury_account(settings), settings)

    async def close(self) -> None:
        # The HTTP provider pools sessions that must be closed; the in-process EVM holds nothing.
        if isinstance(self.w3.provider, AsyncHTTPProvider):
            await self.w3.provider.disconnect()

    def token(self, address: str) -> AsyncContract:
        # Building a contract object parses the whole ABI (milliseconds); payments reuse one per token.
        checksummed = AsyncWeb3.to_checksum_address(address)
        contract = self._contracts.get(checksummed)
        if contract is None:
            contract = self._contracts[checksummed] = self.w3.eth.contract(address=checksummed, abi=stablecoin_abi())
        return contract

    async def _rpc(self, method: str, params: list[Any]) -> Any:
        """A JSON-RPC call through web3's request manager (its retries, errors and provider middleware)."""
        try:
            return await self.w3.manager.coro_request(method, params)
        except (Web3RPCError, ContractLogicError) as exc:
            raise RpcRefused(_rpc_message(exc)) from exc

    async def _raw_quantity(self, method: str, params: list[Any]) -> int:
        """eth_call and eth_estimateGas straight through the provider: web3's request formatters cost
        ~5 ms of CPU per call here, more than the rest of a payment's chain work put together."""
        response = await self.w3.provider.make_request(method, params)
        error = response.get("error")
        if error is not None:
            raise RpcRefused(error.get("message", str(error)) if isinstance(error, dict) else str(error))
        return _quantity(response["result"])

    @rpc_retry
    async def block_number(self) -> int:
        return _quantity(await self._rpc("eth_blockNumber", []))

    @rpc_retry
    async def has_code(self, address: str) -> bool:
        return len(await self.w3.eth.get_code(AsyncWeb3.to_checksum_address(address))) > 0

    @rpc_retry
    async def token_balance(self, token: str, owner: str) -> int:
        data = _BALANCE_OF + encode(["address"], [owner]).hex()
        return await self._raw_quantity(
            "eth_call", [{"from": self.treasury_address, "to": token, "data": data}, "latest"]
        )

    @rpc_retry
    async def token_decimals(self, token: str) -> int:
        return await self.token(token).functions.decimals().call()

    @rpc_retry
    async def native_balance(self, owner: str) -> int:
        return await self.w3.eth.get_balance(AsyncWeb3.to_checksum_address(owner))

    @rpc_retry
    async def pending_nonce(self) -> int:
        return _quantity(await self._rpc("eth_getTransactionCount", [self.treasury_address, "pending"]))

    async def fee_quote(self) -> tuple[int, int]:
        """EIP-1559 (max_fee, priority): room for the base fee to double twice before we are outbid.

        Reused for `_FEE_QUOTE_TTL` seconds: with that headroom a quote a block old is still good, and
        payments signed in the same second need not each ask the node twice.
        """
        now = asyncio.get_running_loop().time()
        if self._fee_quote is None or now - self._fee_quote[0] > _FEE_QUOTE_TTL:
            self._fee_quote = (now, await self._fresh_fee_quote())
        return self._fee_quote[1]

    @rpc_retry
    async def _fresh_fee_quote(self) -> tuple[int, int]:
        block = await self._rpc("eth_getBlockByNumber", ["latest", False])
        priority = _quantity(await self._rpc("eth_maxPriorityFeePerGas", []))
        return 2 * _quantity(block["baseFeePerGas"]) + priority, priority

    @rpc_retry
    async def estimate_transfer_gas(self, token: str, to: str, amount: int) -> int:
        """Simulate the transfer first: a payment that would revert is refused before it costs gas."""
        tx = {"from": self.treasury_address, "to": token, "data": _transfer_calldata(to, amount)}
        try:
            return await self._raw_quantity("eth_estimateGas", [tx])
        except RpcRefused as exc:
            raise PaymentRejected(f"the token refused the transfer: {exc}") from exc

    async def sign_transfer(
        self, token: str, to: str, amount: int, *, nonce: int, gas_limit: int, max_fee: int, priority_fee: int
    ) -> SignedTransfer:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "to": AsyncWeb3.to_checksum_address(token),
            "data": _transfer_calldata(to, amount),
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
            await self._rpc("eth_sendRawTransaction", [raw_tx])
        except RpcRefused as exc:
            if await self._rpc("eth_getTransactionByHash", [tx_hash]) is not None:
                return  # "already known": an earlier run of this step sent it
            raise PaymentRejected(f"the node refused the transaction: {exc}") from exc

    @rpc_retry
    async def estimate_gas(self, to: str, data: bytes) -> int:
        tx = {"from": self.treasury_address, "to": to, "data": "0x" + data.hex()}
        return await self._raw_quantity("eth_estimateGas", [tx])

    @rpc_retry
    async def transaction(self, tx_hash: str) -> ChainTransaction | None:
        raw = await self._rpc("eth_getTransactionByHash", [tx_hash])
        if raw is None:
            return None
        block = raw.get("blockNumber")
        return ChainTransaction(
            tx_hash=_hex(raw["hash"]),
            sender=AsyncWeb3.to_checksum_address(raw["from"]),
            to=AsyncWeb3.to_checksum_address(raw["to"]) if raw.get("to") else None,
            value=_quantity(raw["value"]),
            data=bytes.fromhex(_hex(raw["input"]).removeprefix("0x")),
            nonce=_quantity(raw["nonce"]),
            block_number=None if block is None else _quantity(block),
        )

    @rpc_retry
    async def receipt(self, tx_hash: str) -> Receipt | None:
        raw = await self._rpc("eth_getTransactionReceipt", [tx_hash])
        if raw is None:
            return None
        return Receipt(
            tx_hash=_hex(raw["transactionHash"]),
            status=_quantity(raw["status"]),
            block_number=_quantity(raw["blockNumber"]),
            gas_used=_quantity(raw["gasUsed"]),
            logs=tuple(
                Log(
                    address=AsyncWeb3.to_checksum_address(log["address"]),
                    topics=tuple(_hex(t) for t in log["topics"]),
                    data=_hex(log["data"]),
                )
                for log in raw["logs"]
            ),
        )

    async def confirmed_receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt once it has the configured confirmations; None while it is missing or too shallow
        (a shallower block can still be reorganised away)."""
        receipt = await self.receipt(tx_hash)
        if receipt is None:
            return None
        if self.settings.confirmations == 1:
            return receipt  # a receipt is one confirmation by itself
        depth = await self.block_number() - receipt.block_number + 1
        return receipt if depth >= self.settings.confirmations else None

    async def wait_for_confirmed_receipt(self, tx_hash: str) -> Receipt | None:
        """Poll until the receipt has the configured confirmations, or give up at the timeout (None)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.receipt_timeout_seconds
        delay = 0.005
        while True:
            receipt = await self.confirmed_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    @staticmethod
    def transfer_events(token: str, receipt: Receipt) -> list[TransferEvent]:
        events = []
        for log in receipt.logs:
            # A Transfer logged by any other contract proves nothing about ours.
            if log.address.lower() != token.lower() or len(log.topics) != 3 or log.topics[0] != _TRANSFER_TOPIC:
                continue
            (value,) = decode(["uint256"], bytes.fromhex(log.data.removeprefix("0x")))
            events.append(
                TransferEvent(
                    token=log.address,
                    sender=_topic_address(log.topics[1]),
                    receiver=_topic_address(log.topics[2]),
                    value=value,
                )
            )
        return events


@rpc_retry
async def _chain_id(w3: AsyncWeb3) -> int:
    return await w3.eth.chain_id


def _quantity(value: int | str | bytes) -> int:
    # HTTP nodes answer JSON-RPC hex strings; the in-process EVM answers ints. Same numbers.
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return int(value, 16)


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _rpc_message(exc: Exception) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error") or {}
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", None) or exc)


def _transfer_calldata(to: str, amount: int) -> str:
    return _TRANSFER + encode(["address", "uint256"], [to, amount]).hex()


def _topic_address(topic: str) -> str:
    return AsyncWeb3.to_checksum_address("0x" + topic[-40:])
