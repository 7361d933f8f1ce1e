"""The words invoices print next to their fields, in English, German, French, Dutch and Polish, and the commonest
labels of Spanish, Italian, Portuguese, Swedish, Danish/Norwegian and Czech/Slovak invoices.

Only vocabulary lives here; the modules that find each field decide what to do with a match. A space in a label
matches a short run of spaces or tabs, because layout text stretches "Invoice   number" across a column.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE


def _alternatives(*labels: str) -> str:
    """One regex alternative per label, longest first, spaces made elastic, bounded by non-letters."""
    ordered = sorted(labels, key=len, reverse=True)
    # Up to three spaces: justified text stretches a label, a wider gap is the next column.
    body = "|".join(label.replace(" ", r"[ \t]{1,3}") for label in ordered)
    # A label ending in a letter must end a word ("Invoice No" is not "Invoice Notes"); one ending in "#" or
    # "°" may touch its value ("Invoice #NW-778", "Facture n°562044387").
    return rf"(?<![^\W\d_])(?:{body})(?:(?<![^\W\d_])|(?![^\W\d_]))"


def compile_labels(*labels: str) -> re.Pattern[str]:
    return re.compile(_alternatives(*labels), _FLAGS)


# --- invoice number -------------------------------------------------------------------------------------------
_NO = r"(?:no\.?|nr\.?|n°|nº|n\.º|no°|#|num\.?|number|nummer|numer|numéro|numero|número|č\.|číslo)"
INVOICE_NUMBER = re.compile(
    _alternatives(
        rf"invoice {_NO}",
        rf"invoice{_NO}",
        rf"tax invoice {_NO}",
        rf"inv\.? {_NO}",
        "invoice id",
        rf"bill {_NO}",
        "rechnungsnummer",
        "rechnungsnr\\.?",
        "rechnungs-nr\\.?",
        "rechnungs-nummer",
        "re\\.?-nr\\.?",
        "rg\\.?-nr\\.?",
        rf"rechnung {_NO}",
        "numéro de facture",
        "numero de facture",
        "n° de facture",
        "n° facture",
        "no de facture",
        rf"facture {_NO}",
        rf"avoir {_NO}",
        rf"note de crédit {_NO}",
        rf"credit note {_NO}",
        rf"creditnota {_NO}",
        "creditnotanummer",
        "gutschriftsnummer",
        rf"gutschrift {_NO}",
        rf"faktura korygująca {_NO}",
        "factuurnummer",
        "factuurnr\\.?",
        rf"factuur {_NO}",
        "nummer factuur",
        rf"faktura(?: vat)? {_NO}",
        "numer faktury",
        "nr faktury",
        "nr\\. faktury",
        # es / it / pt / sv / da-no / cs-sk
        rf"factura {_NO}",
        rf"{_NO} (?:de )?factura",
        rf"fattura {_NO}",
        rf"{_NO} fattura",
        "numero documento",
        rf"fatura {_NO}",
        rf"{_NO} (?:da )?fatura",
        "fakturanummer",
        "fakturanr\\.?",
        rf"faktura {_NO}",
        "číslo faktury",
        "variabilní symbol",
        "číslo dokladu",
    ),
    _FLAGS,
)
# "Handelsrechnung (380) Nr. 47110815", "Rechnung des Versicherers (575) Nr. 01.234": a document title, then
# within the same phrase a number marker. A credit note ("avoir") or a factored invoice ("facture affacturée",
# the title often broken over two lines) is numbered like an invoice.
TITLED_NUMBER = re.compile(
    r"(?<![^\W\d_])(?:[^\W\d_]*rechnung|invoice|facture|factuur|faktura|gutschrift|credit note|avoir"
    r"|affactur[ée]e|factura|fattura|fatura)"
    r"(?![^\W\d_])[^\n:]{0,40}?(?<![^\W\d_])(?:nr|no|n°|nº|nummer|č)\.?(?![^\W\d_])",
    _FLAGS,
)
# A title at the start of a line or a cell. Inside a run of blanks only the run's first such start is tried: any
# later one reaches the same title, and trying every one of them was quadratic in the width of a column gap.
TITLE_THEN_NUMBER = re.compile(
    r"(?:(?<=\n)|(?<=^)|(?<=  ))(?<!\n[ \t\f])(?<!^[ \t\f])(?<!  [ \t\f])[ \t\f]*(?:tax[ \t]+)?"
    r"(?:invoice|rechnung|facture|factuur|faktura(?:[ \t]+vat)?"
    r"|factura|fattura|fatura)"
    r"(?=[ \t]+[^\W_]*\d)",
    _FLAGS,
)
DOCUMENT_TITLE = re.compile(
    r"^[ \t\f]*(?:tax[ \t]+)?(?:invoice|rechnung|facture|factuur|faktura(?:[ \t]+vat)?|bill|receipt)[ \t]*:?[ \t]*$",
    _FLAGS | re.MULTILINE,
)
# Words that follow a number on its line and are not part of it ("Facture n°562044387 du 02 Juillet 2015").
NUMBER_TERMINATORS = compile_labels(
    "du", "vom", "von", "of", "dated", "date", "from", "issued", "z dnia", "dnia", "d.d.", "datum", "le", "am"
)

# --- dates ----------------------------------------------------------------------------------------------------
ISSUE_DATE = compile_labels(
    "invoice date",
    "date of invoice",
    "invoice dated",
    "date of issue",
    "issue date",
    "date issued",
    "issued on",
    "issued at",
    "issued",
    "billing date",
    "bill date",
    "tax point date",
    "rechnungsdatum",
    "rechnungs-datum",
    "belegdatum",
    "ausstellungsdatum",
    "ausgestellt am",
    "date de facture",
    "date de facturation",
    "date d'émission",
    "date d’émission",
    "date d'emission",
    "date de la facture",
    "factuurdatum",
    "factuur datum",
    "datum factuur",
    "data wystawienia",
    "data faktury",
    "data dokumentu",
    "data wystawienia faktury",
    "fecha de factura",
    "fecha de emisión",
    "fecha factura",
    "data fattura",
    "data documento",
    "data emissione",
    "data de emissão",
    "data da fatura",
    "fakturadatum",
    "fakturadato",
    "datum vystavení",
    "dátum vyhotovenia",
)
# A bare "Date:"/"Datum:" at the start of a cell: usually the issue date, unless qualified by another word.
GENERIC_DATE = re.compile(r"(?:(?<=\n)|(?<=^)|(?<=\n )|(?<=  )|(?<=\t)|(?<=\f))(?:date|datum|data)(?![^\W\d_])", _FLAGS)
# The date line of a letter: a place name, a comma, then "den"/"le"/"dnia" and the date.
LETTER_DATE = re.compile(r"(?<=[^\W\d_]),[ \t]+(?:den|le|dnia)(?![^\W\d_])", _FLAGS)
# Dates printed for receipts and orders: a last resort for the issue date.
FALLBACK_ISSUE_DATE = compile_labels(
    "payment date", "date paid", "paid on", "order date", "date of sale", "sale date", "data sprzedaży",
    "transaction date", "bestelldatum", "orderdatum", "date de commande", "zahlungsdatum",
)  # fmt: skip
# After an invoice number on a title line: "Nr. 47110815 vom 31.10.2018", "Invoice # RE-1 issued at 2020-11-21".
NUMBER_DATE_CONNECTOR = compile_labels(
    "vom", "von", "du", "dated", "of", "from", "issued at", "issued on", "z dnia", "dnia", "d.d.", "date"
)
DUE_DATE = compile_labels(
    "due date",
    "date due",
    "payment due",
    "payment due date",
    "due on",
    "due by",
    "pay by",
    "payable by",
    "payment deadline",
    "fällig am",
    "fällig bis",
    "fälligkeitsdatum",
    "fälligkeit",
    "fällig",
    "zahlbar bis zum",
    "zahlbar bis",
    "zahlungsziel",
    "zahlungstermin",
    "échéance",
    "echeance",
    "date d'échéance",
    "date d’échéance",
    "date limite de paiement",
    "date limite de règlement",
    "à payer avant le",
    "vervaldatum",
    "vervaldag",
    "uiterste betaaldatum",
    "te betalen voor",
    "betalen voor",
    "termin płatności",
    "termin zapłaty",
    "płatne do",
    "zapłata do",
    "vencimiento",
    "fecha de vencimiento",
    "fecha vencimiento",
    "scadenza",
    "data scadenza",
    "data di scadenza",
    "vencimento",
    "data de vencimento",
    "data vencimento",
    "förfallodatum",
    "förfallodag",
    "forfald",
    "forfaldsdato",
    "forfallsdato",
    "betalingsfrist",
    "datum splatnosti",
    "splatnost",
    "dátum splatnosti",
)
# Sentences that end in the due date: "Bitte überweisen Sie bis zum 30.05.2017", "Please remit until ...".
DUE_DATE_PHRASE = compile_labels(
    "bis zum", "bis", "until", "no later than", "not later than", "before", "by", "avant le", "au plus tard le",
    "uiterlijk", "vóór", "voor", "do dnia", "due",
)  # fmt: skip
EARLY_PAYMENT_DISCOUNT = compile_labels("skonto", "discount", "escompte", "korting", "rabat", "rabatt")
# "Net 30 days", "14 Tage netto", "30 jours", "binnen 14 dagen", "termin 14 dni"
PAYMENT_TERMS_DAYS = re.compile(
    r"(?:net|netto|within|innerhalb(?:[ \t]+von)?|innert|binnen|sous|à|termin(?:[ \t]+płatności)?:?|in)[ \t]+(\d{1,3})"
    r"[ \t]*(?:days|day|tagen|tage|tg\.?|jours|dagen|dni)"
    r"|(\d{1,3})[ \t]*(?:days|tagen|tage|jours|dagen|dni)[ \t]+(?:net|netto|rein netto)",
    _FLAGS,
)
PAYABLE_IMMEDIATELY = compile_labels(
    "due on receipt", "due upon receipt", "payable on receipt", "upon receipt", "zahlbar sofort", "sofort fällig",
    "zahlbar bei erhalt", "à réception", "a reception", "dès réception", "direct opeisbaar", "płatne natychmiast",
)  # fmt: skip

# --- totals ---------------------------------------------------------------------------------------------------
# Any word that can start or end a total's label; the phrase around it is then classified below.
TOTAL_KEYWORD = compile_labels(
    "[^\\W\\d_]*betrag",
    "[^\\W\\d_]*summe",
    "total", "totals", "totaal", "totale", "totalbetrag", "gesamtbetrag", "gesamtsumme", "gesamt", "summe",
    "bruttobetrag", "bruttosumme", "brutto", "rechnungsbetrag", "rechnungssumme", "endbetrag", "endsumme",
    "zahlbetrag", "zu zahlen", "razem", "suma", "ogółem", "do zapłaty", "należność", "te betalen", "à payer",
    "a payer", "montant", "amount due", "balance due", "amount payable", "invoice amount", "due payable",
    "amount paid", "ttc", "wartość brutto", "kwota do zapłaty", "totaalbedrag", "openstaand bedrag",
    "importe total", "total factura", "total a pagar", "totale documento", "totale fattura", "totale da pagare",
    "importo totale", "valor total", "att betala", "summa att betala", "i alt", "at betale", "å betale",
    "celkem k úhradě", "k úhradě", "celkem", "spolu na úhradu",
)  # fmt: skip
# Classification of the phrase a keyword sits in, strongest meaning first.
_B = r"(?<![^\W\d_])"  # word start
_E = r"(?![^\W\d_])"  # word end
TOTAL_DUE_PHRASE = re.compile(
    rf"{_B}(?:due|payable|paid|zahlbetrag|zu zahlen|fällig|zahlbar|à payer|a payer|te betalen|zapłaty|zaplaty"
    r"|ausstehend|offen|outstanding|openstaand|balance|restbetrag|reste|pagar|da pagare|att betala|at betale"
    r"|å betale|úhrad)",
    _FLAGS,
)
TOTAL_GROSS_PHRASE = re.compile(
    r"grand[ \t]+total|invoice[ \t]+total|total[ \t]+invoice|total[ \t]+facture|facture[ \t]+total|ttc"
    r"|total[ \t]+amount|total[ \t]+for[ \t]+this[ \t]+invoice|invoice[ \t]+amount|gesamtbetrag|gesamtsumme"
    r"|totalbetrag|brutto|rechnungsbetrag|rechnungssumme|endbetrag|endsumme|totaalbedrag|incl|inkl|including"
    r"|einschl|należność[ \t]+ogółem|ogółem|gross|montant[ \t]+total|total[ \t]+factura|totale[ \t]+documento"
    r"|totale[ \t]+fattura|importe[ \t]+total|i[ \t]+alt",
    _FLAGS,
)
TOTAL_PLAIN_PHRASE = re.compile(r"total|totaal|totale|summe|gesamt|razem|suma|celkem|summa", _FLAGS)
# Qualifiers that make a "total" something other than the grand total: net amounts, partial sums, discounts,
# prepayments, prices and quantities.
TOTAL_NOT_GRAND = re.compile(
    rf"{_B}sub[ \t\-]?tota|zwischen|sous|{_B}net{_E}(?![ \t]+(?:à|a)[ \t]+payer)|{_B}netto|nettobetrag"
    rf"|excl|exkl|{_B}ex\.?{_E}|ohne|without|{_B}sans{_E}|zonder|{_B}bez{_E}|{_B}ht{_E}|hors|before|untaxed|w[ \t]+tym"
    rf"|imponib|ilíquido|iliquido|{_B}sin{_E}|{_B}senza{_E}|{_B}sem{_E}|{_B}utan{_E}|{_B}uden{_E}"
    r"|discount|rabat|skonto|remise|korting|nachlass|zuschl|abschl|waren|surcharge|allowance"
    r"|deposit|anzahlung|vorauszahlung|erhalten|bereits|gezahlt|prepa|credit|gutschrift|savings"
    rf"|position|zeilen|{_B}lines?{_E}|items|pieces|quantity|weight|gewicht|menge|qty|hours|stunden"
    rf"|{_B}units?{_E}|unit price|einzel|stück|prix unitaire|price per|prijs per|cena jedn|saldo",
    _FLAGS,
)
TAX_WORDS = re.compile(
    rf"{_B}(?:tax|vat|ust|mwst|steuer\w*|umsatzsteuer|tva|btw|gst|hst|pst|iva|podatek|podatku|moms|mva|dph|igic){_E}",
    _FLAGS,
)
TAX_INCLUDED = re.compile(
    rf"incl|inkl|einschl|including|{_B}inc{_E}|{_B}with{_E}|{_B}mit{_E}|ttc|brutto|gross|{_B}z[ \t]+vat"
    rf"|met[ \t]+btw|{_B}avec{_E}|compris|inclus",
    _FLAGS,
)

# --- line items -----------------------------------------------------------------------------------------------
ITEM_HEADER_WORDS = re.compile(
    r"(?<![^\W\d_])(?:qty|quantity|menge|anzahl|aantal|ilość|ilosc|quantité|qté|units?|price|preis|prix|prijs"
    r"|cena|nettopreis|einzelpreis|stückpreis|description|beschreibung|bezeichnung|omschrijving|désignation"
    r"|nazwa|product|produkt|artikel|article|item|items|pos|lp|amount|betrag|montant|bedrag|wartość|total"
    r"|totaal|gesamtbetrag|nettobetrag|rate)(?![^\W\d_])",
    _FLAGS,
)

# A row that starts with one of these closes the item table: subtotals, tax lines and totals follow the items.
ITEM_TABLE_END = re.compile(
    r"^\W*(?:(?:sub|zwischen|sous[- ]?)?total|grand total|taxable|[csi]gst|subtotaal|totaal|summe|zwischensumme"
    r"|nettobetrag|netto|net|razem|suma|tax|sales tax|vat|mwst|ust|zzgl|tva|btw|gst|exclusief|excl|do zapłaty"
    r"|amount due|balance|gesamt|rechnungsbetrag|bruttobetrag|montant|positionssumme|umsatzsteuer)(?![^\W\d_])",
    _FLAGS,
)

# --- parties --------------------------------------------------------------------------------------------------
SELLER = compile_labels(
    "receipt from",
    "from", "seller", "sold by", "vendor", "supplier", "provided by", "product\\(s\\) provided by", "service provider",
    "issued by", "bill from", "billed by", "invoice from", "verkäufer", "lieferant", "rechnungssteller",
    "leistungserbringer", "auftragnehmer", "absender", "vendeur", "fournisseur", "émetteur", "emetteur",
    "prestataire", "verkoper", "leverancier", "afzender", "sprzedawca", "wystawca", "dostawca", "sprzedający",
    "proveedor", "emisor", "fornitore", "cedente", "fornecedor", "leverantör", "leverandør", "dodavatel",
)  # fmt: skip
CUSTOMER = compile_labels(
    "bill to", "billed to", "bill to address", "billing address", "billing contact", "technical contact",
    "ship to", "shipped to", "shipping address", "deliver to", "delivery address", "sold to", "invoice to",
    "invoiced to", "to", "customer", "client", "buyer", "recipient", "attn", "attention", "licensed to", "licensee",
    "käufer", "kunde", "rechnung an", "rechnungsempfänger", "leistungsempfänger", "warenempfänger",
    "rechnungsadresse", "lieferadresse", "lieferanschrift", "empfänger", "auftraggeber", "facturé à",
    "facture à", "adresse de facturation", "adresse de livraison", "destinataire", "acheteur", "klant",
    "factuuradres", "afleveradres", "geleverd aan", "nabywca", "odbiorca", "płatnik", "kupujący",
    "adresse du client", "adresse client", "coordonnées client",
    "cliente", "destinatario", "spett\\.le", "cessionario", "committente", "adquirente", "kund", "köpare",
    "odběratel", "odberateľ", "příjemce",
)  # fmt: skip
# Parties that act for the seller without being the issuer: never read as the vendor either.
OTHER_PARTY = compile_labels(
    "représentant fiscal", "representant fiscal", "tax representative", "fiscal representative",
    "steuerlicher vertreter", "fiskalvertreter", "fiscaal vertegenwoordiger", "przedstawiciel podatkowy",
)  # fmt: skip
# Sentences naming the seller: "All services are sold by X", "Thank you for your business with X". Not "payable
# to X": the payee may be a factor or a collection agent, and a note is no place to learn who issued the bill.
SELLER_PHRASE = re.compile(
    r"(?:sold by|provided by|issued by|operated by|thank you for (?:your business with|choosing|shopping with)"
    r"|thanks for choosing|verkauft (?:von|durch)"
    r"|vendu par|émis par|verkocht door|geleverd door|sprzedawane przez|wystawione przez)[ \t:]+",
    _FLAGS,
)
ACCOUNT_HOLDER = compile_labels(
    "account name", "account holder", "beneficiary", "kontoname", "kontoinhaber", "titulaire du compte",
    "titulaire", "rekeninghouder", "ten name van", "t.n.v.", "odbiorca przelewu", "właściciel rachunku",
)  # fmt: skip
# Labels of a company's tax or registration id, printed in its address block or footer.
TAX_ID = compile_labels(
    "vat", "vat no", "vat number", "vat reg no", "vat registration no", "vat id", "tax id", "tax no", "ein", "gst",
    "gstin", "abn", "ust-idnr", "ust-id-nr", "ust\\.?-id\\.?-nr", "ust-id", "ustid", "ust\\.? id", "steuernummer",
    "st\\.?-nr", "steuer-nr", "uid", "tva", "n° tva", "tva intracommunautaire", "siren", "siret", "rcs", "btw",
    "btw-nr", "btw nummer", "kvk", "nip", "regon", "krs", "cif", "nif", "p\\.? ?iva", "partita iva", "cvr",
    "org\\.? ?nr", "hrb", "hra",
)  # fmt: skip
