"""Demo catalog: the departments and services of Stadt Duisburg (demo data, upserted by slug)."""
# ruff: noqa: E501  (this module is prose for citizens; wrapping sentences mid-word helps nobody)

from models import Department, Service
from services.seed import SeedReport, upsert

MAIL_DOMAIN = "stadt-duisburg.de"

DEPARTMENTS = [
    {
        "slug": "strassenverkehrsamt",
        "name_de": "Straßenverkehrsamt",
        "name_en": "Road Traffic Office",
        "address": "Schifferstraße 190\n47059 Duisburg",
        "phone": "0203 283-4550",
        "email": f"strassenverkehrsamt@{MAIL_DOMAIN}",
    },
    {
        "slug": "ordnungsamt",
        "name_de": "Ordnungsamt",
        "name_en": "Public Order Office",
        "address": "Schwanenstraße 5–7\n47051 Duisburg",
        "phone": "0203 283-3220",
        "email": f"ordnungsamt@{MAIL_DOMAIN}",
    },
    {
        "slug": "steueramt",
        "name_de": "Steueramt",
        "name_en": "Municipal Tax Office",
        "address": "Sonnenwall 73\n47051 Duisburg",
        "phone": "0203 283-2640",
        "email": f"steueramt@{MAIL_DOMAIN}",
    },
    {
        "slug": "buergeramt",
        "name_de": "Bürgeramt",
        "name_en": "Citizens' Office",
        "address": "Sonnenwall 77–79\n47051 Duisburg",
        "phone": "0203 283-9400",
        "email": f"buergeramt@{MAIL_DOMAIN}",
    },
    {
        "slug": "bezirksamt-nord",
        "name_de": "Bezirksamt Nord",
        "name_en": "District Office North",
        "address": "Duisburger Straße 213\n47166 Duisburg",
        "phone": "0203 283-5100",
        "email": f"bezirksamt-nord@{MAIL_DOMAIN}",
    },
    {
        "slug": "bezirksamt-sued",
        "name_de": "Bezirksamt Süd",
        "name_en": "District Office South",
        "address": "Sittardsberger Allee 14\n47249 Duisburg",
        "phone": "0203 283-7200",
        "email": f"bezirksamt-sued@{MAIL_DOMAIN}",
    },
]

# Texts: paragraphs separated by a blank line; requirements one per line.
SERVICES = [
    {
        "slug": "bewohnerparkausweis",
        "department": "strassenverkehrsamt",
        "topic": "mobilitaet",
        "leika_key": None,
        "fee_cents": 3070,
        "processing_days": 10,
        "title_de": "Bewohnerparkausweis",
        "title_en": "Residents' parking permit",
        "summary_de": "Mit dem Bewohnerparkausweis parken Sie in Ihrem Bewohnerparkgebiet ohne Parkschein.",
        "summary_en": "With a residents' parking permit you can park in your residents' parking zone without a ticket.",
        "description_de": (
            "In mehreren Duisburger Stadtteilen sind Parkplätze ganz oder zu bestimmten Zeiten den "
            "Bewohnerinnen und Bewohnern vorbehalten. Mit dem Bewohnerparkausweis dürfen Sie dort parken, "
            "ohne einen Parkschein zu lösen.\n\n"
            "Der Ausweis gilt zwölf Monate für das Bewohnerparkgebiet Ihrer Wohnung und für ein bestimmtes "
            "Fahrzeug. Er berechtigt zum Parken, garantiert aber keinen freien Stellplatz.\n\n"
            "Nach der Prüfung erhalten Sie den Ausweis per Post. Legen Sie ihn gut sichtbar hinter die "
            "Windschutzscheibe. Die Eingangsbestätigung Ihres Antrags ist noch keine Parkberechtigung."
        ),
        "description_en": (
            "In several districts of Duisburg, parking spaces are reserved for residents, either always or at "
            "certain times. With a residents' parking permit you may park there without buying a ticket.\n\n"
            "The permit is valid for twelve months, for the residents' parking zone of your home and for one "
            "specific vehicle. It entitles you to park but does not guarantee a free space.\n\n"
            "Once your application has been checked, we send you the permit by post. Display it clearly behind "
            "the windscreen. The acknowledgement of your application is not yet a parking permit."
        ),
        "audience_de": (
            "Personen, die im Bewohnerparkgebiet mit Haupt- oder Nebenwohnsitz gemeldet sind und ein Fahrzeug "
            "halten oder dauerhaft nutzen, zum Beispiel einen Firmen- oder Leasingwagen. Jede berechtigte "
            "Person erhält einen Ausweis."
        ),
        "audience_en": (
            "People registered with their main or secondary residence in the residents' parking zone who own "
            "a vehicle or use one permanently, for example a company or leased car. Each eligible person "
            "receives one permit."
        ),
        "requirements_de": (
            "Amtliches Kennzeichen des Fahrzeugs\n"
            "Zulassungsbescheinigung Teil I (Fahrzeugschein) als Foto oder PDF\n"
            "Bei Firmen- oder Leasingfahrzeugen: Bestätigung des Arbeitgebers oder Leasingvertrag\n"
            "Ihre Wohnanschrift im Bewohnerparkgebiet (wir gleichen sie mit dem Melderegister ab)"
        ),
        "requirements_en": (
            "The vehicle's registration number\n"
            "Vehicle registration certificate part I as a photo or PDF\n"
            "For company or leased vehicles: confirmation from your employer or the leasing contract\n"
            "Your home address in the residents' parking zone (we check it against the population register)"
        ),
        "fee_note_de": "Für zwölf Monate Gültigkeit.",
        "fee_note_en": "For a validity of twelve months.",
    },
    {
        "slug": "hundesteuer-anmeldung",
        "department": "steueramt",
        "topic": "tiere",
        "leika_key": None,
        "fee_cents": 0,
        "processing_days": 14,
        "title_de": "Hundesteuer-Anmeldung",
        "title_en": "Dog tax registration",
        "summary_de": "Wer in Duisburg einen Hund hält, meldet ihn innerhalb von zwei Wochen beim Steueramt an.",
        "summary_en": "Anyone keeping a dog in Duisburg must register it with the tax office within two weeks.",
        "description_de": (
            "Für jeden Hund, der in einem Duisburger Haushalt lebt, ist Hundesteuer zu zahlen. Melden Sie "
            "Ihren Hund innerhalb von zwei Wochen an, nachdem er bei Ihnen eingezogen ist oder Sie mit ihm "
            "nach Duisburg gezogen sind.\n\n"
            "Nach der Anmeldung erhalten Sie einen Steuerbescheid und eine Hundesteuermarke. Die Höhe der "
            "Steuer richtet sich nach der Hundesteuersatzung der Stadt Duisburg; sie hängt unter anderem davon "
            "ab, wie viele Hunde in Ihrem Haushalt leben.\n\n"
            "Für Blindenführhunde und andere Assistenzhunde können Sie mit der Anmeldung eine "
            "Steuerbefreiung beantragen."
        ),
        "description_en": (
            "Dog tax is payable for every dog living in a household in Duisburg. Register your dog within two "
            "weeks after it has moved in with you or you have moved to Duisburg with it.\n\n"
            "After registration you receive a tax assessment notice and a dog tax tag. The amount of tax is "
            "set by the City of Duisburg's dog tax bylaw; among other things it depends on how many dogs live "
            "in your household.\n\n"
            "For guide dogs and other assistance dogs you can apply for a tax exemption together with the "
            "registration."
        ),
        "audience_de": (
            "Alle, die in Duisburg einen Hund in ihren Haushalt aufnehmen oder mit einem Hund nach Duisburg "
            "ziehen. Anmelden muss die Person, die den Hund hält."
        ),
        "audience_en": (
            "Anyone in Duisburg who takes a dog into their household or moves to Duisburg with a dog. The "
            "person keeping the dog must register it."
        ),
        "requirements_de": (
            "Angaben zum Hund: Rasse, Geburtsdatum und Chipnummer (falls vorhanden)\n"
            "Datum, seit dem der Hund bei Ihnen lebt\n"
            "Bei Zuzug: Abmeldebestätigung der bisherigen Gemeinde (falls vorhanden)\n"
            "Für eine Steuerbefreiung: Nachweis, zum Beispiel Schwerbehindertenausweis mit Merkzeichen Bl"
        ),
        "requirements_en": (
            "Details of the dog: breed, date of birth and microchip number (if any)\n"
            "The date since which the dog has lived with you\n"
            "If you moved here: deregistration confirmation from your previous municipality (if any)\n"
            "For a tax exemption: proof, for example a severe disability card marked Bl"
        ),
        "fee_note_de": "Die Anmeldung ist gebührenfrei. Die Hundesteuer setzen wir mit einem Steuerbescheid fest.",
        "fee_note_en": "Registration is free of charge. We set the dog tax in a tax assessment notice.",
    },
    {
        "slug": "gewerbeanmeldung",
        "department": "ordnungsamt",
        "topic": "wirtschaft",
        "leika_key": "99050012104000",
        "fee_cents": 2600,
        "processing_days": 5,
        "title_de": "Gewerbeanmeldung",
        "title_en": "Business registration",
        "summary_de": "Wer in Duisburg ein Gewerbe beginnt, muss es nach § 14 Gewerbeordnung anmelden.",
        "summary_en": "Anyone starting a trade or business in Duisburg must register it under section 14 of the "
        "Trade Regulation Act.",
        "description_de": (
            "Melden Sie Ihr Gewerbe an, wenn Sie einen Betrieb neu beginnen, einen bestehenden Betrieb "
            "übernehmen oder Ihren Betrieb aus einer anderen Gemeinde nach Duisburg verlegen.\n\n"
            "Sie erhalten eine Bestätigung der Gewerbeanmeldung. Wir geben Ihre Angaben, wie gesetzlich "
            "vorgeschrieben, an das Finanzamt, die Industrie- und Handelskammer oder Handwerkskammer, die "
            "Berufsgenossenschaft und weitere Stellen weiter.\n\n"
            "Freie Berufe, etwa Ärztinnen, Rechtsanwälte oder Künstlerinnen, sind kein Gewerbe und werden "
            "nicht angemeldet. Für erlaubnispflichtige Tätigkeiten brauchen Sie zusätzlich eine Erlaubnis."
        ),
        "description_en": (
            "Register your business when you start a new one, take over an existing one, or move your "
            "business from another municipality to Duisburg.\n\n"
            "You receive a confirmation of business registration. As required by law, we pass your details on "
            "to the tax office, the Chamber of Industry and Commerce or Chamber of Crafts, the employers' "
            "liability insurance association and other bodies.\n\n"
            "Liberal professions, such as doctors, lawyers or artists, are not a trade and are not registered. "
            "Activities that require a licence need that licence in addition."
        ),
        "audience_de": (
            "Einzelunternehmerinnen und Einzelunternehmer, Personengesellschaften (zum Beispiel GbR, OHG, KG) "
            "und juristische Personen (zum Beispiel GmbH, UG), die in Duisburg ein Gewerbe beginnen. Bei "
            "Personengesellschaften meldet jede geschäftsführende Person gesondert an."
        ),
        "audience_en": (
            "Sole traders, partnerships (for example GbR, OHG, KG) and legal entities (for example GmbH, UG) "
            "starting a business in Duisburg. In a partnership, each managing partner registers separately."
        ),
        "requirements_de": (
            "Personalausweis oder Reisepass; bei ausländischen Staatsangehörigen ein Aufenthaltstitel, der die "
            "selbständige Tätigkeit erlaubt\n"
            "Bei im Handelsregister eingetragenen Unternehmen: aktueller Registerauszug\n"
            "Bei erlaubnispflichtigen Tätigkeiten: die Erlaubnis, zum Beispiel nach § 34c Gewerbeordnung\n"
            "Bei zulassungspflichtigen Handwerken: Eintragung in die Handwerksrolle"
        ),
        "requirements_en": (
            "Identity card or passport; for foreign nationals, a residence permit that allows self-employment\n"
            "For companies entered in the commercial register: a current register extract\n"
            "For activities requiring a licence: the licence, for example under section 34c of the Trade "
            "Regulation Act\n"
            "For regulated crafts: entry in the register of craftspeople"
        ),
        "fee_note_de": "Je anmeldender Person.",
        "fee_note_en": "Per person registering.",
    },
    {
        "slug": "sondernutzungserlaubnis",
        "department": "strassenverkehrsamt",
        # Often a one-off application by a firm (removals, scaffolding, a stand) that will not open a
        # citizen account for it; the form asks for name, address and e-mail anyway. See docs/anonymous-use.md.
        "login_required": False,
        "topic": "oeffentlicher_raum",
        "leika_key": None,
        "fee_cents": 5000,
        "processing_days": 21,
        "title_de": "Sondernutzungserlaubnis für öffentliche Verkehrsflächen",
        "title_en": "Permit for special use of public roads",
        "summary_de": (
            "Für Container, Gerüste, Umzugswagen, Außengastronomie oder Werbeaufsteller auf Straßen, "
            "Gehwegen und Plätzen brauchen Sie eine Erlaubnis."
        ),
        "summary_en": (
            "You need a permit to place skips, scaffolding, removal vans, outdoor seating or advertising "
            "boards on roads, pavements and squares."
        ),
        "description_de": (
            "Straßen, Wege und Plätze dienen dem Verkehr. Wer sie darüber hinaus nutzt, etwa für einen "
            "Container, ein Gerüst, Tische und Stühle vor einem Café oder einen Werbeaufsteller, braucht "
            "eine Sondernutzungserlaubnis nach § 18 Straßen- und Wegegesetz NRW.\n\n"
            "Stellen Sie den Antrag mindestens drei Wochen vor Beginn der Nutzung. Die Erlaubnis kann mit "
            "Auflagen verbunden sein, zum Beispiel zur Absicherung oder dazu, dass auf dem Gehweg mindestens "
            "1,50 Meter frei bleiben.\n\n"
            "Beeinträchtigt die Nutzung den Verkehr, ist zusätzlich eine verkehrsrechtliche Anordnung nötig. "
            "Wir prüfen beides in einem Verfahren."
        ),
        "description_en": (
            "Roads, paths and squares are there for traffic. Anyone using them for more than that, for example "
            "for a skip, scaffolding, tables and chairs outside a café or an advertising board, needs a special "
            "use permit under section 18 of the North Rhine-Westphalia Roads Act.\n\n"
            "Apply at least three weeks before the use begins. The permit may come with conditions, for "
            "example on safety measures or that at least 1.50 metres of pavement remain free.\n\n"
            "If the use affects traffic, a traffic order is also required. We examine both in one procedure."
        ),
        "audience_de": (
            "Privatpersonen, Unternehmen und Vereine, die eine öffentliche Verkehrsfläche in Duisburg über "
            "den Gemeingebrauch hinaus nutzen möchten."
        ),
        "audience_en": (
            "Private individuals, companies and associations wishing to use a public road area in Duisburg "
            "beyond ordinary public use."
        ),
        "requirements_de": (
            "Genauer Ort (Straße und Hausnummer) und Zeitraum der Nutzung\n"
            "Art der Nutzung und Größe der Fläche (Länge und Breite in Metern)\n"
            "Lageplan oder Skizze mit der genutzten Fläche und der verbleibenden Gehwegbreite\n"
            "Bei Gerüsten und Containern: ausführende Firma und Nachweis der Haftpflichtversicherung"
        ),
        "requirements_en": (
            "Exact location (street and house number) and period of use\n"
            "Type of use and size of the area (length and width in metres)\n"
            "Site plan or sketch showing the area used and the remaining pavement width\n"
            "For scaffolding and skips: the contractor and proof of liability insurance"
        ),
        "fee_note_de": (
            "Verwaltungsgebühr. Hinzu kommt eine Sondernutzungsgebühr nach der Sondernutzungssatzung, die sich "
            "nach Fläche, Dauer und Lage richtet; sie steht in der Erlaubnis."
        ),
        "fee_note_en": (
            "Administrative fee. A special use charge under the special use bylaw is added, depending on area, "
            "duration and location; it is stated in the permit."
        ),
    },
    {
        "slug": "meldebescheinigung",
        "department": "buergeramt",
        "topic": "meldewesen",
        "leika_key": None,
        "fee_cents": 1000,
        "processing_days": 3,
        "title_de": "Meldebescheinigung",
        "title_en": "Certificate of registration",
        "summary_de": (
            "Die Meldebescheinigung bestätigt, wo Sie in Duisburg gemeldet sind – etwa für Arbeitgeber, "
            "Banken oder Behörden."
        ),
        "summary_en": (
            "The certificate of registration confirms where you are registered in Duisburg – for example for "
            "employers, banks or authorities."
        ),
        "description_de": (
            "Die einfache Meldebescheinigung nach § 18 Bundesmeldegesetz enthält Ihren Namen, Ihren "
            "Doktorgrad, Ihre Anschrift und Ihr Geburtsdatum. Auf Wunsch stellen wir eine erweiterte "
            "Meldebescheinigung aus, die zum Beispiel auch Familienstand, Staatsangehörigkeit und frühere "
            "Anschriften enthält.\n\n"
            "Sie erhalten die Bescheinigung als elektronisch gesiegeltes PDF in Ihrem Postfach. Empfänger "
            "können die Echtheit über den aufgedruckten Prüfcode selbst prüfen."
        ),
        "description_en": (
            "The simple certificate of registration under section 18 of the Federal Registration Act contains "
            "your name, academic title, address and date of birth. On request we issue an extended certificate "
            "that also contains, for example, marital status, nationality and previous addresses.\n\n"
            "You receive the certificate as an electronically sealed PDF in your inbox. Recipients can check "
            "that it is genuine themselves using the printed verification code."
        ),
        "audience_de": (
            "Personen, die mit Wohnsitz in Duisburg gemeldet sind, für sich selbst. Für minderjährige Kinder "
            "beantragen die Sorgeberechtigten."
        ),
        "audience_en": (
            "People registered with a residence in Duisburg, for themselves. Parents or guardians apply for "
            "minor children."
        ),
        "requirements_de": (
            "Ihre Angaben zur Person (Name, Geburtsdatum, Anschrift), die wir mit dem Melderegister abgleichen\n"
            "Die Angabe, ob Sie eine einfache oder erweiterte Meldebescheinigung brauchen\n"
            "Bei Anträgen für Kinder: Nachweis des Sorgerechts, falls Sie nicht mit dem Kind gemeldet sind"
        ),
        "requirements_en": (
            "Your personal details (name, date of birth, address), which we check against the population "
            "register\n"
            "Whether you need a simple or an extended certificate\n"
            "For applications for children: proof of custody if you are not registered with the child"
        ),
        "fee_note_de": "Je Bescheinigung.",
        "fee_note_en": "Per certificate.",
    },
]


def seed_catalog(report: SeedReport) -> None:
    """Upsert the demo departments and services."""
    departments = {}
    for data in DEPARTMENTS:
        values = {k: v for k, v in data.items() if k != "slug"} | {"active": True}
        departments[data["slug"]] = upsert(Department, {"slug": data["slug"]}, values, report, "departments")
    for data in SERVICES:
        values = {k: v for k, v in data.items() if k not in ("slug", "department")}
        dept = departments[data["department"]]
        values |= {"department_id": dept.id, "active": True, "login_required": data.get("login_required", True)}
        upsert(Service, {"slug": data["slug"]}, values, report, "services")
