"""Structured e-invoices read exactly: Factur-X/ZUGFeRD PDFs (CII XML attached to the PDF), XRechnung and
Peppol BIS Billing 3.0 (UBL 2.1 or CII XML).

The XML's values are the invoice's exact record and are used as its fields (no language model is asked to
read what is already data); the visible text of a Factur-X PDF is read as well and checked against them.
Modules: `xml` parses safely, `mapping` maps EN 16931 terms to an `EInvoice` (`model`), `facturx` finds the XML
in a PDF, `read` ties those together, `checks` flags what the XML says about itself, `render` prints it for a
reviewer, `fields` turns it into `InvoiceFields`, and `crosscheck` compares a PDF's visible text against it.
"""
