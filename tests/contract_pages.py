"""What the reference pages document, transcribed so that tests can hold the contract to it.

CI runs without ``../shared/seeds``, so the facts the tests need are copied here, each with its page and lines.
"""

TRANSACTION_KINDS = {
    # kind: (operationId template, status codes the page lists for it), from 000 (write offs) and 001 (debit memos)
    "create": ("create{N}", {200, 400, 401, 403, 404, 409, 429, 500}),  # 000 L234-242, 001 L890-898
    "list": ("list{P}", {200, 400, 401, 403, 404, 429, 500}),  # 000 L325-332, 001 L979-986
    "get": ("get{N}", {200, 400, 401, 403, 404, 429, 500}),  # 000 L375-382, 001 L35-42
    "put": ("update{N}", {200, 400, 401, 403, 404, 409, 429, 500}),  # 000 L671-679, 001 L317-325
    "patch": ("patch{N}", {200, 400, 401, 403, 404, 409, 429, 500}),  # 000 L818-826, 001 L460-468
    "search": ("search{P}", {200, 400, 401, 403, 404, 409, 429, 500}),  # 000 L928-936, 001 L568-576
    "by_batch": ("list{P}ByBatch", {200, 400, 401, 403, 404, 429, 500}),  # 000 L993-1000, 001 L633-640
    "warm": ("warmUp{P}", {200, 400, 401, 403, 404, 429, 500}),  # 000 L1019-1026, 001 L659-666
}

# Operations whose own page lists status codes, and those codes.
DOCUMENTED_CODES: dict[str, set[int]] = {}
for _n, _p in [("WriteOff", "WriteOffs"), ("DebitMemo", "DebitMemos")]:
    for _template, _codes in TRANSACTION_KINDS.values():
        DOCUMENTED_CODES[_template.format(N=_n, P=_p)] = _codes
# 003 and 004 show only the success response of each operation.
for _op in [
    "warmUpInvoices",
    "createInvoice",
    "adjustInvoice",
    "listBatches",
    "createBatch",
    "executeBatchOperations",
    "getBatchDependents",
    "listBatchesByFiscalPeriod",
    "searchBatches",
    "listBatchesByStatus",
    "deleteBatch",
    "getBatch",
    "patchBatch",
    "updateBatch",
]:
    DOCUMENTED_CODES[_op] = {200}

# Every operation the pages show, by operationId, with the seed file it must cite.
DOCUMENTED_OPERATIONS = {
    **{t.format(N="WriteOff", P="WriteOffs"): "000_0f4d13ccbf7dca3a.txt" for t, _ in TRANSACTION_KINDS.values()},
    **{t.format(N="DebitMemo", P="DebitMemos"): "001_a8b9e284e0b20600.txt" for t, _ in TRANSACTION_KINDS.values()},
    **{t.format(N="CreditMemo", P="CreditMemos"): "002_b0786c9a1c14849a.txt" for t, _ in TRANSACTION_KINDS.values()},
    "executeCreditMemoOperations": "002_b0786c9a1c14849a.txt",
    "warmUpInvoices": "003_e6a97a0d18b55719.txt",
    "createInvoice": "003_e6a97a0d18b55719.txt",
    "adjustInvoice": "003_e6a97a0d18b55719.txt",
    **{
        op: "004_f8c204bfe96b28c6.txt"
        for op in [
            "listBatches",
            "createBatch",
            "executeBatchOperations",
            "getBatchDependents",
            "listBatchesByFiscalPeriod",
            "searchBatches",
            "listBatchesByStatus",
            "deleteBatch",
            "getBatch",
            "patchBatch",
            "updateBatch",
        ]
    },
}

# Operations added so that every resource has the same set (the issue allows them, marked x-inferred).
INFERRED_OPERATIONS = {
    "executeWriteOffOperations",
    "executeDebitMemoOperations",
    "listInvoices",
    "getInvoice",
    "updateInvoice",
    "patchInvoice",
    "searchInvoices",
    "listInvoicesByBatch",
    "executeInvoiceOperations",
}

SEED_FILES = [
    "000_0f4d13ccbf7dca3a.txt",
    "001_a8b9e284e0b20600.txt",
    "002_b0786c9a1c14849a.txt",
    "003_e6a97a0d18b55719.txt",
    "004_f8c204bfe96b28c6.txt",
]
