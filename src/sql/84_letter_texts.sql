-- ---------------------------------------------------------------------------
-- The shipped texts of letters, as data: fragments (ar.letter_text), the law
-- each penalty regime states (ar.penalty_wording), and the templates of the
-- FR_STANDARD policy (ar.dunning_template), in French, English and German.
-- Users change them by inserting rows of their own (a letter_text or
-- penalty_wording row of the same key replaces the shipped one; a template
-- of the user's takes the level and language of the shipped one in a policy
-- of the user's, templates_from the shipped FR_STANDARD).
--
-- src/upgrade/0.1.0--0.2.0 reads this piece as it is (a symbolic link),
-- after deleting the shipped rows of 0.1.0.
-- ---------------------------------------------------------------------------

INSERT INTO ar.letter_text (key, language, text, shipped) VALUES
	('word.and', 'fr', ' et ', true),
	('word.and', 'en', ' and ', true),
	('word.and', 'de', ' und ', true),
	('word.or', 'fr', ' ou ', true),
	('word.or', 'en', ' or ', true),
	('word.or', 'de', ' oder ', true),
	('label.phone', 'fr', 'Tél.', true),
	('label.phone', 'en', 'Tel.', true),
	('label.phone', 'de', 'Tel.', true),
	('label.email', 'fr', 'E-mail', true),
	('label.email', 'en', 'E-mail', true),
	('label.email', 'de', 'E-Mail', true),
	('mention.capital', 'fr', ' au capital de {{capital}}', true),
	('mention.capital', 'en', ' with a share capital of {{capital}}', true),
	('mention.capital', 'de', ' mit einem Gesellschaftskapital von {{capital}}', true),
	('mention.office', 'fr', 'siège :', true),
	('mention.office', 'en', 'registered office:', true),
	('mention.office', 'de', 'Sitz:', true),
	('mention.vat', 'fr', 'TVA intracommunautaire', true),
	('mention.vat', 'en', 'VAT', true),
	('mention.vat', 'de', 'USt-IdNr.', true),
	('not_computed', 'fr', 'non calculé', true),
	('not_computed', 'en', 'not computed', true),
	('not_computed', 'de', 'nicht berechnet', true),
	('iban.missing', 'fr', 'indiqué sur nos factures', true),
	('iban.missing', 'en', 'shown on our invoices', true),
	('iban.missing', 'de', 'auf unseren Rechnungen angegeben', true),
	('recent.heading', 'fr', 'Factures récemment échues, qui n''ont pas encore fait l''objet d''une relance :', true),
	('recent.heading', 'en', 'Invoices recently fallen due, not reminded before:', true),
	('recent.heading', 'de', 'Kürzlich fällig gewordene Rechnungen, die bisher nicht angemahnt wurden:', true),
	('credits.deduction', 'fr', 'Avoirs et paiements non affectés : ', true),
	('credits.deduction', 'en', 'Credit notes and unapplied payments: ', true),
	('credits.deduction', 'de', 'Gutschriften und nicht zugeordnete Zahlungen: ', true),
	('rate.missing', 'fr', 'taux de référence au {{dates}} non encore publié : intérêts non calculés pour cette période', true),
	('rate.missing', 'en', 'reference rate on {{dates}} not yet published: no interest computed for that period', true),
	('rate.missing', 'de', 'Referenzzinssatz am {{dates}} noch nicht veröffentlicht: für diesen Zeitraum keine Zinsen berechnet', true),
	('rate.provisional', 'fr', ' [taux provisoire : non encore publié officiellement]', true),
	('rate.provisional', 'en', ' [provisional rate: not yet officially published]', true),
	('rate.provisional', 'de', ' [vorläufiger Satz: noch nicht amtlich veröffentlicht]', true),
	('rate.floor', 'fr', 'au {{date}} : {{multiplier}} × {{legal_rate}} = {{floor}}', true),
	('rate.floor', 'en', 'on {{date}}: {{multiplier}} × {{legal_rate}} = {{floor}}', true),
	('rate.floor', 'de', 'am {{date}}: {{multiplier}} × {{legal_rate}} = {{floor}}', true),
	('rate.floor_unknown', 'fr', 'taux de l''intérêt légal non encore publié pour cette date', true),
	('rate.floor_unknown', 'en', 'French legal interest rate not yet published for this date', true),
	('rate.floor_unknown', 'de', 'gesetzlicher Zinssatz für dieses Datum noch nicht veröffentlicht', true),
	('fee.below', 'fr', '{{fee}} pour une créance inférieure à {{max}}', true),
	('fee.below', 'en', '{{fee}} for a debt under {{max}}', true),
	('fee.below', 'de', '{{fee}} bei einer Forderung unter {{max}}', true),
	('fee.between', 'fr', '{{fee}} pour une créance de {{min}} à moins de {{max}}', true),
	('fee.between', 'en', '{{fee}} for a debt from {{min}} to under {{max}}', true),
	('fee.between', 'de', '{{fee}} bei einer Forderung von {{min}} bis unter {{max}}', true),
	('fee.from', 'fr', '{{fee}} pour une créance d''au moins {{min}}', true),
	('fee.from', 'en', '{{fee}} for a debt of {{min}} or more', true),
	('fee.from', 'de', '{{fee}} bei einer Forderung ab {{min}}', true),
	('fee.unknown', 'fr', '(montant non fixé dans la devise de la facture)', true),
	('fee.unknown', 'en', '(no amount set in the currency of the invoice)', true),
	('fee.unknown', 'de', '(kein Betrag in der Währung der Rechnung festgelegt)', true),
	('terms.generic', 'fr', 'Tout retard de paiement rend exigibles des pénalités de retard ({{legal_reference}}), soit : {{rates}} ; indemnité forfaitaire pour frais de recouvrement : {{fee}}.', true),
	('terms.generic', 'en', 'Any late payment incurs late-payment interest ({{legal_reference}}), that is: {{rates}}; fixed compensation for recovery costs: {{fee}}.', true),
	('terms.generic', 'de', 'Bei Zahlungsverzug fallen Verzugszinsen an ({{legal_reference}}), d. h.: {{rates}}; Pauschale für Beitreibungskosten: {{fee}}.', true),
	('terms.generic_rate', 'fr', '{{rate}}', true),
	('terms.generic_rate', 'en', '{{rate}}', true),
	('terms.generic_rate', 'de', '{{rate}}', true),
	-- what a formal notice says of the next step, per regime of the customer
	('notice_law.default', 'fr', E'À défaut de règlement intégral dans ce délai, nous saisirons sans autre avis le président du tribunal de commerce compétent d''une requête en injonction de payer (articles 1405 et suivants du Code de procédure civile), les frais de la procédure pouvant être mis à votre charge, sans préjudice de tous autres dommages et intérêts.\n\nLa présente vaut mise en demeure au sens de l''article 1344 du Code civil.', true),
	('notice_law.default', 'en', E'Failing payment in full within that time, we will, without further notice, apply to the President of the competent Commercial Court for an order for payment (injonction de payer, Articles 1405 et seq. of the French Code of Civil Procedure); the costs of the proceedings may be charged to you, without prejudice to any other damages.\n\nThis letter constitutes formal notice (mise en demeure) within the meaning of Article 1344 of the French Civil Code.', true),
	('notice_law.default', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist vollständig ein, beantragen wir ohne weitere Ankündigung beim Präsidenten des zuständigen Handelsgerichts einen Zahlungsbefehl (injonction de payer, Artikel 1405 ff. der französischen Zivilprozessordnung); die Kosten des Verfahrens können Ihnen auferlegt werden, unbeschadet weiteren Schadensersatzes.\n\nDieses Schreiben gilt als Inverzugsetzung (mise en demeure) im Sinne von Artikel 1344 des französischen Code civil.', true),
	('notice_law.fr_public', 'fr', E'À défaut de règlement dans ce délai, nous saisirons le juge des référés du tribunal administratif compétent d''une demande de provision (article R541-1 du Code de justice administrative), sans préjudice des intérêts moratoires et de l''indemnité forfaitaire qui continuent de courir.\n\nLa présente vaut mise en demeure.', true),
	('notice_law.fr_public', 'en', E'Failing payment within that time, we will apply to the interim relief judge of the competent Administrative Court for an interim payment (Article R541-1 of the French Code of Administrative Justice), without prejudice to the default interest and fixed compensation, which keep running.\n\nThis letter constitutes formal notice.', true),
	('notice_law.fr_public', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist ein, beantragen wir beim Eilrichter des zuständigen Verwaltungsgerichts eine Vorschusszahlung (Artikel R541-1 des französischen Code de justice administrative), unbeschadet der weiterlaufenden Verzugszinsen und der Pauschale.\n\nDieses Schreiben gilt als Inverzugsetzung.', true),
	('notice_law.de_b2b', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist vollständig ein, werden wir ohne weitere Ankündigung gerichtliche Schritte einleiten (Mahnverfahren nach §§ 688 ff. ZPO oder Europäisches Mahnverfahren nach der Verordnung (EG) Nr. 1896/2006); die dadurch entstehenden Kosten haben Sie als Verzugsschaden zu tragen (§ 280 Abs. 2, § 286 BGB).', true),
	('notice_law.de_b2b', 'en', E'Failing payment in full within that time, we will take legal action without further notice (German order for payment procedure, sections 688 et seq. ZPO, or European order for payment procedure, Regulation (EC) No 1896/2006); the costs incurred are damages for default which you will bear (sections 280(2) and 286 BGB).', true),
	('notice_law.de_b2b', 'fr', E'À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une procédure judiciaire (procédure d''injonction de payer allemande, §§ 688 et suivants ZPO, ou procédure européenne d''injonction de payer, règlement (CE) n° 1896/2006) ; les frais qui en résulteront seront à votre charge au titre du préjudice de retard (§§ 280, alinéa 2, et 286 BGB).', true),
	('notice_law.de_b2b_2002', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist vollständig ein, werden wir ohne weitere Ankündigung gerichtliche Schritte einleiten (Mahnverfahren nach §§ 688 ff. ZPO oder Europäisches Mahnverfahren nach der Verordnung (EG) Nr. 1896/2006); die dadurch entstehenden Kosten haben Sie als Verzugsschaden zu tragen (§ 280 Abs. 2, § 286 BGB).', true),
	('notice_law.de_b2b_2002', 'en', E'Failing payment in full within that time, we will take legal action without further notice (German order for payment procedure, sections 688 et seq. ZPO, or European order for payment procedure, Regulation (EC) No 1896/2006); the costs incurred are damages for default which you will bear (sections 280(2) and 286 BGB).', true),
	('notice_law.de_b2b_2002', 'fr', E'À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une procédure judiciaire (procédure d''injonction de payer allemande, §§ 688 et suivants ZPO, ou procédure européenne d''injonction de payer, règlement (CE) n° 1896/2006) ; les frais qui en résulteront seront à votre charge au titre du préjudice de retard (§§ 280, alinéa 2, et 286 BGB).', true),
	('notice_law.de_b2c', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist vollständig ein, werden wir ohne weitere Ankündigung das gerichtliche Mahnverfahren (§§ 688 ff. ZPO) einleiten; die dadurch entstehenden Kosten haben Sie als Verzugsschaden zu tragen (§ 280 Abs. 2, § 286 BGB).', true),
	('notice_law.de_b2c', 'en', E'Failing payment in full within that time, we will start the German order for payment procedure (sections 688 et seq. ZPO) without further notice; the costs incurred are damages for default which you will bear (sections 280(2) and 286 BGB).', true),
	('notice_law.de_b2c', 'fr', E'À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis la procédure allemande d''injonction de payer (§§ 688 et suivants ZPO) ; les frais qui en résulteront seront à votre charge au titre du préjudice de retard (§§ 280, alinéa 2, et 286 BGB).', true),
	('notice_law.uk_lpa', 'en', E'If payment in full is not received within that time, we will issue a claim against you for the debt, the statutory interest and the fixed sums without further notice, and seek our costs. This letter is sent in accordance with the Practice Direction on Pre-Action Conduct and Protocols.', true),
	('notice_law.uk_lpa', 'fr', E'À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une action en paiement de la créance, des intérêts légaux et des sommes forfaitaires, frais de procédure en sus. La présente est adressée conformément à la Practice Direction on Pre-Action Conduct and Protocols.', true),
	('notice_law.uk_lpa', 'de', E'Geht die Zahlung nicht innerhalb dieser Frist vollständig ein, werden wir ohne weitere Ankündigung Klage auf die Forderung, die gesetzlichen Zinsen und die Pauschalbeträge erheben und die Erstattung unserer Kosten verlangen. Dieses Schreiben ergeht gemäß der Practice Direction on Pre-Action Conduct and Protocols.', true),
	-- country names for addresses, in the sender's language
	('country.fr', 'fr', 'France', true), ('country.fr', 'en', 'France', true), ('country.fr', 'de', 'Frankreich', true),
	('country.de', 'fr', 'Allemagne', true), ('country.de', 'en', 'Germany', true), ('country.de', 'de', 'Deutschland', true),
	('country.at', 'fr', 'Autriche', true), ('country.at', 'en', 'Austria', true), ('country.at', 'de', 'Österreich', true),
	('country.be', 'fr', 'Belgique', true), ('country.be', 'en', 'Belgium', true), ('country.be', 'de', 'Belgien', true),
	('country.ch', 'fr', 'Suisse', true), ('country.ch', 'en', 'Switzerland', true), ('country.ch', 'de', 'Schweiz', true),
	('country.es', 'fr', 'Espagne', true), ('country.es', 'en', 'Spain', true), ('country.es', 'de', 'Spanien', true),
	('country.gb', 'fr', 'Royaume-Uni', true), ('country.gb', 'en', 'United Kingdom', true), ('country.gb', 'de', 'Vereinigtes Königreich', true),
	('country.ie', 'fr', 'Irlande', true), ('country.ie', 'en', 'Ireland', true), ('country.ie', 'de', 'Irland', true),
	('country.it', 'fr', 'Italie', true), ('country.it', 'en', 'Italy', true), ('country.it', 'de', 'Italien', true),
	('country.lu', 'fr', 'Luxembourg', true), ('country.lu', 'en', 'Luxembourg', true), ('country.lu', 'de', 'Luxemburg', true),
	('country.nl', 'fr', 'Pays-Bas', true), ('country.nl', 'en', 'Netherlands', true), ('country.nl', 'de', 'Niederlande', true),
	('country.us', 'fr', 'États-Unis', true), ('country.us', 'en', 'United States', true), ('country.us', 'de', 'Vereinigte Staaten', true);

-- The law of each regime: French Code de commerce L441-10 and D441-5 (LME),
-- Code de la commande publique L2192-13, R2192-31, D2192-35 (public
-- buyers), directive 2011/7/EU art. 3, 4 and 6, BGB 286, 288 and 247, the
-- UK Late Payment of Commercial Debts (Interest) Act 1998 (s.5A) and its
-- Rate of Interest (No. 3) Order 2002, and a contractual rate (not below
-- three times the French legal interest rate, L441-10 II).
INSERT INTO ar.penalty_wording (regime, language, clause, rate_line, shipped) VALUES
	('FR_LME', 'fr',
	 'Conformément à l''article L441-10 du Code de commerce, tout retard de paiement rend exigibles de plein droit, sans qu''un rappel soit nécessaire, des pénalités de retard au taux appliqué par la Banque centrale européenne à son opération de refinancement la plus récente, en vigueur au 1er janvier ou au 1er juillet du semestre concerné, majoré de 10 points, soit : {{rates}} ; ainsi qu''une indemnité forfaitaire pour frais de recouvrement de {{fee}} par facture (article D441-5 du même code).',
	 'taux BCE {{reference_rate}} + {{margin}} points = {{rate}} (taux en vigueur au {{dates}})', true),
	('FR_LME', 'en',
	 'Under Article L441-10 of the French Commercial Code, any late payment automatically incurs, without any reminder being required, late-payment interest at the rate applied by the European Central Bank to its most recent refinancing operation, in force on 1 January or 1 July of the half-year concerned, plus 10 percentage points, that is: {{rates}}; and a fixed compensation for recovery costs of {{fee}} per invoice (Article D441-5 of the same Code).',
	 'ECB rate {{reference_rate}} + {{margin}} points = {{rate}} (rate in force on {{dates}})', true),
	('FR_LME', 'de',
	 'Gemäß Artikel L441-10 des französischen Handelsgesetzbuchs (Code de commerce) fallen bei Zahlungsverzug ohne Mahnung Verzugszinsen in Höhe des Zinssatzes der jüngsten Refinanzierungsoperation der Europäischen Zentralbank an, der am 1. Januar bzw. 1. Juli des betreffenden Halbjahres gilt, zuzüglich 10 Prozentpunkten, d. h.: {{rates}}; hinzu kommt eine Pauschale für Beitreibungskosten von {{fee}} je Rechnung (Artikel D441-5 desselben Gesetzbuchs).',
	 'EZB-Satz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (Satz am {{dates}})', true),
	('FR_PUBLIC', 'fr',
	 'En application des articles L2192-13 et R2192-31 du Code de la commande publique, le dépassement du délai de paiement fait courir de plein droit, sans autre formalité, des intérêts moratoires au taux appliqué par la Banque centrale européenne à ses opérations principales de refinancement les plus récentes, en vigueur au premier jour du semestre de l''année civile au cours duquel ils ont commencé à courir, majoré de 8 points, soit : {{rates}} ; ainsi qu''une indemnité forfaitaire pour frais de recouvrement de {{fee}} (article D2192-35 du même code).',
	 'taux BCE {{reference_rate}} + {{margin}} points = {{rate}} (taux en vigueur au {{dates}}, pour toute la durée du retard)', true),
	('FR_PUBLIC', 'en',
	 'Under Articles L2192-13 and R2192-31 of the French Public Procurement Code, late payment automatically gives rise, without any formality, to default interest at the rate applied by the European Central Bank to its most recent main refinancing operations, in force on the first day of the half-year in which the interest started to run, plus 8 percentage points, that is: {{rates}}; and a fixed compensation for recovery costs of {{fee}} (Article D2192-35 of the same Code).',
	 'ECB rate {{reference_rate}} + {{margin}} points = {{rate}} (rate in force on {{dates}}, for the whole delay)', true),
	('FR_PUBLIC', 'de',
	 'Gemäß Artikel L2192-13 und R2192-31 des französischen Gesetzbuchs über das öffentliche Auftragswesen (Code de la commande publique) löst die Überschreitung der Zahlungsfrist ohne weitere Formalität Verzugszinsen in Höhe des Zinssatzes der jüngsten Hauptrefinanzierungsoperationen der Europäischen Zentralbank aus, der am ersten Tag des Halbjahres galt, in dem die Zinsen zu laufen begannen, zuzüglich 8 Prozentpunkten, d. h.: {{rates}}; hinzu kommt eine Pauschale für Beitreibungskosten von {{fee}} (Artikel D2192-35 desselben Gesetzbuchs).',
	 'EZB-Satz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (Satz am {{dates}}, für die gesamte Verzugsdauer)', true),
	('EU_2011_7', 'fr',
	 'En application de la directive 2011/7/UE concernant la lutte contre le retard de paiement dans les transactions commerciales (articles 3 et 4), telle que transposée en droit national, des intérêts pour retard de paiement courent de plein droit à compter du lendemain de l''échéance, sans qu''un rappel soit nécessaire, au taux de référence de la Banque centrale européenne (taux de son opération principale de refinancement la plus récente au 1er janvier ou au 1er juillet du semestre concerné) majoré de 8 points, soit : {{rates}} ; ainsi qu''un montant forfaitaire de {{fee}} au titre des frais de recouvrement pour chaque retard de paiement (article 6).',
	 'taux de référence BCE {{reference_rate}} + {{margin}} points = {{rate}} (taux au {{dates}})', true),
	('EU_2011_7', 'en',
	 'Under Directive 2011/7/EU on combating late payment in commercial transactions (Articles 3 and 4), as transposed into national law, interest for late payment runs from the day after the due date, without any reminder being required, at the reference rate of the European Central Bank (the rate of its most recent main refinancing operation on 1 January or 1 July of the half-year concerned) plus 8 percentage points, that is: {{rates}}; and we are entitled to a fixed sum of {{fee}} as compensation for recovery costs for each late payment (Article 6).',
	 'ECB reference rate {{reference_rate}} + {{margin}} points = {{rate}} (rate on {{dates}})', true),
	('EU_2011_7', 'de',
	 'Nach der Richtlinie 2011/7/EU zur Bekämpfung von Zahlungsverzug im Geschäftsverkehr (Artikel 3 und 4) in ihrer Umsetzung in nationales Recht fallen ab dem Tag nach Fälligkeit ohne Mahnung Verzugszinsen in Höhe des Referenzzinssatzes der Europäischen Zentralbank (Zinssatz ihrer jüngsten Hauptrefinanzierungsoperation am 1. Januar bzw. 1. Juli des betreffenden Halbjahres) zuzüglich 8 Prozentpunkten an, d. h.: {{rates}}; zudem steht uns für jeden Zahlungsverzug ein Pauschalbetrag von {{fee}} als Entschädigung für Beitreibungskosten zu (Artikel 6).',
	 'EZB-Referenzzinssatz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (Satz am {{dates}})', true),
	('DE_B2B', 'de',
	 'Sie befinden sich gemäß § 286 BGB in Verzug. Nach § 288 Abs. 2 BGB ist die Entgeltforderung während des Verzugs mit neun Prozentpunkten über dem Basiszinssatz (§ 247 BGB) zu verzinsen, d. h.: {{rates}}; zudem steht uns nach § 288 Abs. 5 BGB eine Pauschale von {{fee}} je Rechnung zu.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (ab {{dates}})', true),
	('DE_B2B', 'en',
	 'You are in default of payment under section 286 of the German Civil Code (BGB). Under section 288(2) BGB the claim for payment bears default interest during the default at nine percentage points above the base rate (Basiszinssatz, section 247 BGB), that is: {{rates}}; and under section 288(5) BGB we are entitled to a lump sum (Pauschale) of {{fee}} per invoice.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (from {{dates}})', true),
	('DE_B2B', 'fr',
	 'Conformément au § 286 du Code civil allemand (BGB), vous êtes en demeure de payer. En application du § 288, alinéa 2, du BGB, la créance porte pendant la demeure des intérêts moratoires de neuf points au-dessus du taux de base (Basiszinssatz, § 247 BGB), soit : {{rates}} ; en outre, le § 288, alinéa 5, du BGB nous ouvre droit à une indemnité forfaitaire (Pauschale) de {{fee}} par facture.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (à compter du {{dates}})', true),
	('DE_B2C', 'de',
	 'Sie befinden sich gemäß § 286 BGB in Verzug. Nach § 288 Abs. 1 BGB ist die Geldschuld während des Verzugs mit fünf Prozentpunkten über dem Basiszinssatz (§ 247 BGB) zu verzinsen, d. h.: {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (ab {{dates}})', true),
	('DE_B2C', 'en',
	 'You are in default of payment under section 286 of the German Civil Code (BGB). Under section 288(1) BGB the debt bears default interest during the default at five percentage points above the base rate (Basiszinssatz, section 247 BGB), that is: {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (from {{dates}})', true),
	('DE_B2C', 'fr',
	 'Conformément au § 286 du Code civil allemand (BGB), vous êtes en demeure de payer. En application du § 288, alinéa 1er, du BGB, la dette porte pendant la demeure des intérêts moratoires de cinq points au-dessus du taux de base (Basiszinssatz, § 247 BGB), soit : {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (à compter du {{dates}})', true),
	('DE_B2B_2002', 'de',
	 'Sie befinden sich gemäß § 286 BGB in Verzug. Nach § 288 Abs. 2 BGB in der für vor dem 29. Juli 2014 geschlossene Verträge geltenden Fassung ist die Entgeltforderung während des Verzugs mit acht Prozentpunkten über dem Basiszinssatz (§ 247 BGB) zu verzinsen, d. h.: {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (ab {{dates}})', true),
	('DE_B2B_2002', 'en',
	 'You are in default of payment under section 286 of the German Civil Code (BGB). Under section 288(2) BGB in its version for contracts concluded before 29 July 2014, the claim for payment bears default interest during the default at eight percentage points above the base rate (Basiszinssatz, section 247 BGB), that is: {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (from {{dates}})', true),
	('DE_B2B_2002', 'fr',
	 'Conformément au § 286 du Code civil allemand (BGB), vous êtes en demeure de payer. En application du § 288, alinéa 2, du BGB dans sa rédaction applicable aux contrats conclus avant le 29 juillet 2014, la créance porte pendant la demeure des intérêts moratoires de huit points au-dessus du taux de base (Basiszinssatz, § 247 BGB), soit : {{rates}}.',
	 'Basiszinssatz {{reference_rate}} + {{margin}} points = {{rate}} (à compter du {{dates}})', true),
	('UK_LPA', 'en',
	 'Under the Late Payment of Commercial Debts (Interest) Act 1998, statutory interest runs on the debt from the day after the due date at 8% a year over the Bank of England base rate in force on the 30 June or 31 December immediately before the day the interest started to run, fixed for the whole delay (Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002), that is: {{rates}}; and under section 5A of the Act we are entitled, for each invoice, to a fixed sum of {{fee}}.',
	 'Bank of England base rate {{reference_rate}} + {{margin}} % = {{rate}} (base rate on {{dates}})', true),
	('UK_LPA', 'fr',
	 'En application du Late Payment of Commercial Debts (Interest) Act 1998 (Royaume-Uni), des intérêts légaux courent sur la créance à compter du lendemain de l''échéance au taux de base de la Banque d''Angleterre en vigueur au 30 juin ou au 31 décembre précédant le jour où ils ont commencé à courir, majoré de 8 points et fixé pour toute la durée du retard, soit : {{rates}} ; en outre, la section 5A de cette loi nous ouvre droit, pour chaque facture, à une somme forfaitaire de {{fee}}.',
	 'taux de base de la Banque d''Angleterre {{reference_rate}} + {{margin}} points = {{rate}} (taux au {{dates}})', true),
	('UK_LPA', 'de',
	 'Nach dem Late Payment of Commercial Debts (Interest) Act 1998 (Vereinigtes Königreich) fallen ab dem Tag nach Fälligkeit gesetzliche Zinsen in Höhe von 8 Prozentpunkten über dem Leitzins der Bank of England an, der am 30. Juni bzw. 31. Dezember vor Beginn des Zinslaufs galt, fest für die gesamte Verzugsdauer, d. h.: {{rates}}; zudem steht uns nach Section 5A des Gesetzes je Rechnung ein Pauschalbetrag von {{fee}} zu.',
	 'Leitzins der Bank of England {{reference_rate}} + {{margin}} Prozentpunkte = {{rate}} (Satz am {{dates}})', true),
	('CONTRACT', 'fr',
	 'Conformément à nos conditions générales de vente et à l''article L441-10 du Code de commerce, tout retard de paiement rend exigibles de plein droit, sans qu''un rappel soit nécessaire, des pénalités de retard au taux contractuel de {{rates}} l''an, taux qui ne peut être inférieur à trois fois le taux de l''intérêt légal ({{floor}}), ainsi qu''une indemnité forfaitaire pour frais de recouvrement de {{fee}} par facture (article D441-5 du même code).',
	 '{{rate}}', true),
	('CONTRACT', 'en',
	 'Under our terms of sale and Article L441-10 of the French Commercial Code, any late payment automatically incurs, without any reminder being required, late-payment interest at the contractual rate of {{rates}} a year, a rate which may not be lower than three times the French legal interest rate ({{floor}}), and a fixed compensation for recovery costs of {{fee}} per invoice (Article D441-5 of the same Code).',
	 '{{rate}}', true),
	('CONTRACT', 'de',
	 'Gemäß unseren Allgemeinen Verkaufsbedingungen und Artikel L441-10 des französischen Handelsgesetzbuchs (Code de commerce) fallen bei Zahlungsverzug ohne Mahnung Verzugszinsen zum vertraglichen Satz von {{rates}} jährlich an, der nicht unter dem Dreifachen des französischen gesetzlichen Zinssatzes liegen darf ({{floor}}), sowie eine Pauschale für Beitreibungskosten von {{fee}} je Rechnung (Artikel D441-5 desselben Gesetzbuchs).',
	 '{{rate}}', true);

-- --------------------------------------------------- FR_STANDARD templates

INSERT INTO ar.dunning_template (policy_id, level, language, segment, subject, body, shipped)
SELECT p.id, v.level, v.language, v.segment, v.subject, v.body, true
  FROM ar.dunning_policy p, (VALUES
-- level 0: courtesy reminder before the due date (lists only invoices not yet due)
(0, 'fr', NULL, 'Échéance prochaine de vos factures {{company_name}}',
$t$Madame, Monsieur,

Nous nous permettons de vous rappeler que les factures ci-dessous arrivent prochainement à échéance :

{{invoice_table}}

Montant total : {{amount_due}}

Vous pouvez les régler par virement sur notre compte IBAN {{company_iban}}, en indiquant les numéros de factures en référence.

Si votre règlement est déjà programmé, nous vous en remercions et vous prions de ne pas tenir compte de ce message.

Nous restons à votre disposition pour toute question.

Bien cordialement,

Le service clients
{{company_name}}$t$),
(0, 'en', NULL, 'Upcoming due date of your {{company_name}} invoices',
$t$Dear Sir or Madam,

This is a friendly reminder that the following invoices will soon fall due:

{{invoice_table}}

Total: {{amount_due}}

Payment can be made by bank transfer to our account IBAN {{company_iban}}, quoting the invoice numbers as reference.

If your payment is already scheduled, thank you, and please disregard this message.

Please do not hesitate to contact us with any question.

Kind regards,

Customer accounts
{{company_name}}$t$),
(0, 'de', NULL, 'Bald fällige Rechnungen von {{company_name}}',
$t$Sehr geehrte Damen und Herren,

wir möchten Sie freundlich daran erinnern, dass die folgenden Rechnungen demnächst fällig werden:

{{invoice_table}}

Gesamtbetrag: {{amount_due}}

Bitte überweisen Sie den Betrag auf unser Konto IBAN {{company_iban}} unter Angabe der Rechnungsnummern.

Falls Ihre Zahlung bereits veranlasst ist, danken wir Ihnen und bitten Sie, diese Nachricht als gegenstandslos zu betrachten.

Für Rückfragen stehen wir Ihnen gern zur Verfügung.

Mit freundlichen Grüßen

Kundenservice
{{company_name}}$t$),
-- level 1: first reminder
(1, 'fr', NULL, 'Relance : factures échues non réglées ({{customer_code}})',
$t$Madame, Monsieur,

Sauf erreur ou omission de notre part, nous n'avons pas reçu à ce jour le règlement des factures suivantes, arrivées à échéance :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Il s'agit probablement d'un simple oubli. Nous vous remercions de bien vouloir procéder à leur règlement dans les meilleurs délais, par virement sur notre compte IBAN {{company_iban}}, en rappelant les numéros de factures.

Si votre paiement nous est parvenu entre-temps, merci de ne pas tenir compte de ce courriel. Si l'une de ces factures appelle une observation de votre part, n'hésitez pas à nous contacter : nous l'examinerons avec vous sans délai.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(1, 'en', NULL, 'Reminder: overdue invoices ({{customer_code}})',
$t$Dear Sir or Madam,

According to our records, we have not yet received payment of the following invoices, which are now overdue:

{{invoice_table}}

Amount outstanding: {{amount_due}}

This is probably an oversight. We would be grateful if you could arrange payment at your earliest convenience by bank transfer to our account IBAN {{company_iban}}, quoting the invoice numbers.

If your payment has crossed with this e-mail, please disregard it. If you have any query about these invoices, please contact us so that we can look into it with you straight away.

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
(1, 'de', NULL, 'Zahlungserinnerung: fällige Rechnungen ({{customer_code}})',
$t$Sehr geehrte Damen und Herren,

nach unseren Unterlagen ist die Zahlung der folgenden fälligen Rechnungen bei uns noch nicht eingegangen:

{{invoice_table}}

Offener Betrag: {{amount_due}}

Sicher handelt es sich um ein Versehen. Bitte überweisen Sie den Betrag baldmöglichst auf unser Konto IBAN {{company_iban}} unter Angabe der Rechnungsnummern.

Sollte sich Ihre Zahlung mit dieser E-Mail überschnitten haben, betrachten Sie sie bitte als gegenstandslos. Haben Sie Fragen zu diesen Rechnungen, sprechen Sie uns bitte an: Wir klären sie umgehend mit Ihnen.

Mit freundlichen Grüßen

Debitorenbuchhaltung
{{company_name}}$t$),
(1, 'fr', 'punctual', 'Vos factures échues ({{customer_code}})',
$t$Madame, Monsieur,

Vos règlements nous parviennent habituellement à bonne date, et nous vous en remercions. C'est pourquoi nous nous permettons de vous signaler que les factures suivantes, arrivées à échéance, n'apparaissent pas encore comme réglées dans nos comptes :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Il s'agit sans doute d'un simple décalage. Pourriez-vous vérifier ce point et, le cas échéant, procéder au virement sur notre compte IBAN {{company_iban}} ?

Si le règlement est déjà parti, merci de ne pas tenir compte de ce message.

Bien cordialement,

Le service comptabilité clients
{{company_name}}$t$),
(1, 'en', 'punctual', 'Your invoices now due ({{customer_code}})',
$t$Dear Sir or Madam,

Your payments usually reach us on time, for which we thank you. This is why we wanted to let you know that the following invoices, now due, do not yet appear as paid in our books:

{{invoice_table}}

Amount outstanding: {{amount_due}}

It is probably just a timing difference. Could you please check and, if needed, arrange the transfer to our account IBAN {{company_iban}}?

If the payment is already on its way, please disregard this message.

Kind regards,

Accounts receivable
{{company_name}}$t$),
-- level 2: second reminder, the law recalled
(2, 'fr', NULL, 'Deuxième relance : factures impayées ({{customer_code}})',
$t$Madame, Monsieur,

Malgré notre relance du {{previous_notices}}, les factures suivantes restent impayées à ce jour :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Nous vous demandons de bien vouloir régulariser cette situation sous {{reply_days}} jours, soit au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}.

Nous vous rappelons les conditions applicables en cas de retard de paiement :
{{penalty_terms}}

Si vous rencontrez une difficulté, contactez-nous avant cette date : nous pouvons convenir ensemble d'un échéancier.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(2, 'en', NULL, 'Second reminder: unpaid invoices ({{customer_code}})',
$t$Dear Sir or Madam,

Despite our reminder of {{previous_notices}}, the following invoices remain unpaid:

{{invoice_table}}

Amount outstanding: {{amount_due}}

Please settle this amount within {{reply_days}} days, that is by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}.

We would remind you of the terms that apply to late payment:
{{penalty_terms}}

If you are facing any difficulty, please contact us before that date: we can agree on a payment schedule together.

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
(2, 'de', NULL, 'Zweite Mahnung: unbezahlte Rechnungen ({{customer_code}})',
$t$Sehr geehrte Damen und Herren,

trotz unserer Zahlungserinnerung vom {{previous_notices}} sind die folgenden Rechnungen noch offen:

{{invoice_table}}

Offener Betrag: {{amount_due}}

Bitte begleichen Sie diesen Betrag innerhalb von {{reply_days}} Tagen, spätestens bis zum {{reply_by}}, durch Überweisung auf unser Konto IBAN {{company_iban}}.

Wir weisen Sie auf die Folgen eines Zahlungsverzugs hin:
{{penalty_terms}}

Sollten Sie Schwierigkeiten haben, sprechen Sie uns bitte vor diesem Termin an: Wir können gemeinsam eine Ratenzahlung vereinbaren.

Mit freundlichen Grüßen

Debitorenbuchhaltung
{{company_name}}$t$),
(2, 'fr', 'high_risk', 'Deuxième relance : factures impayées ({{customer_code}})',
$t$Madame, Monsieur,

Malgré notre relance du {{previous_notices}}, les factures suivantes restent impayées à ce jour :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Nous vous demandons de régulariser cette situation sous {{reply_days}} jours, soit au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}. À défaut, nous nous verrons contraints de suspendre toute nouvelle livraison ainsi que l'exécution de vos commandes en cours jusqu'au complet règlement.

Nous vous rappelons les conditions applicables en cas de retard de paiement :
{{penalty_terms}}

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(2, 'en', 'high_risk', 'Second reminder: unpaid invoices ({{customer_code}})',
$t$Dear Sir or Madam,

Despite our reminder of {{previous_notices}}, the following invoices remain unpaid:

{{invoice_table}}

Amount outstanding: {{amount_due}}

Please settle this amount within {{reply_days}} days, that is by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}. Failing this, we will have to suspend any further delivery and the performance of your pending orders until payment in full.

We would remind you of the terms that apply to late payment:
{{penalty_terms}}

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
-- level 3: final reminder, penalties stated
(3, 'fr', NULL, 'Dernière relance avant mise en demeure ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Code client : {{customer_code}}

Le {{as_of}}

Objet : dernière relance avant mise en demeure

Madame, Monsieur,

Nos relances des {{previous_notices}} sont restées sans effet. À ce jour, les factures suivantes demeurent impayées :

{{invoice_table}}
{{recent_invoices}}
Principal restant dû : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total dû : {{total_due}}

{{penalty_terms}} Les pénalités continuent de courir jusqu'au complet paiement.

Nous vous demandons de nous régler l'intégralité de ces sommes au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}. À défaut, nous vous adresserons une mise en demeure par lettre recommandée avec demande d'avis de réception, préalable à une action en justice.

Si un règlement est intervenu entre-temps, nous vous prions de ne pas tenir compte de la présente.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service recouvrement
{{company_name}}

{{sender_legal}}$t$),
(3, 'en', NULL, 'Final reminder before formal notice ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Customer code: {{customer_code}}

{{as_of}}

Re: final reminder before formal notice

Dear Sir or Madam,

Our reminders of {{previous_notices}} have remained unanswered. The following invoices are still unpaid:

{{invoice_table}}
{{recent_invoices}}
Principal outstanding: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total due: {{total_due}}

{{penalty_terms}} Interest keeps running until payment in full.

Please pay these amounts in full by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}. Failing this, we will send you a formal notice to pay by registered letter with acknowledgement of receipt, before taking legal action.

If payment has been made in the meantime, please disregard this letter.

Yours faithfully,

Credit control
{{company_name}}

{{sender_legal}}$t$),
(3, 'de', NULL, 'Letzte Mahnung ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Kundennummer: {{customer_code}}

{{as_of}}

Betreff: Letzte Mahnung

Sehr geehrte Damen und Herren,

unsere Mahnungen vom {{previous_notices}} sind ohne Ergebnis geblieben. Die folgenden Rechnungen sind weiterhin unbezahlt:

{{invoice_table}}
{{recent_invoices}}
Offene Hauptforderung: {{amount_due}}
Verzugszinsen bis zum {{as_of}}: {{interest}}
Pauschalen für Beitreibungskosten: {{indemnity}}
Gesamtbetrag: {{total_due}}

{{penalty_terms}} Die Zinsen laufen bis zur vollständigen Zahlung weiter.

Bitte zahlen Sie diese Beträge vollständig bis spätestens {{reply_by}} auf unser Konto IBAN {{company_iban}}. Andernfalls erhalten Sie per Einschreiben mit Rückschein eine letzte Zahlungsaufforderung, bevor wir gerichtliche Schritte einleiten.

Sollte die Zahlung inzwischen erfolgt sein, betrachten Sie dieses Schreiben bitte als gegenstandslos.

Mit freundlichen Grüßen

Forderungsmanagement
{{company_name}}

{{sender_legal}}$t$),
-- level 4: formal notice (mise en demeure)
(4, 'fr', NULL, 'Mise en demeure de payer ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Code client : {{customer_code}}

LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION

Le {{as_of}}

Objet : mise en demeure de payer

Madame, Monsieur,

Malgré nos relances des {{previous_notices}}, vous restez redevable envers notre société des sommes suivantes :

{{invoice_table}}
{{recent_invoices}}
Principal : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total dû : {{total_due}}

{{penalty_terms}} Les pénalités continuent de courir jusqu'au complet paiement.

Par la présente, nous vous mettons en demeure de nous régler la somme de {{total_due}} dans un délai de {{reply_days}} jours à compter de la réception de ce courrier, soit au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}.

{{notice_law}}

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.

Pour {{company_name}},
Le service recouvrement

{{sender_legal}}$t$),
(4, 'en', NULL, 'Formal notice to pay ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Customer code: {{customer_code}}

REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT

{{as_of}}

Re: formal notice to pay

Dear Sir or Madam,

Despite our reminders of {{previous_notices}}, you still owe our company the following amounts:

{{invoice_table}}
{{recent_invoices}}
Principal: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total due: {{total_due}}

{{penalty_terms}} Interest keeps running until payment in full.

We hereby give you formal notice to pay us the sum of {{total_due}} within {{reply_days}} days of receipt of this letter, that is by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}.

{{notice_law}}

Yours faithfully,

For {{company_name}},
Credit control

{{sender_legal}}$t$),
(4, 'de', NULL, 'Letzte Zahlungsaufforderung mit Fristsetzung ({{customer_code}})',
$t${{sender_address}}

{{customer_address}}
Kundennummer: {{customer_code}}

EINSCHREIBEN MIT RÜCKSCHEIN

{{as_of}}

Betreff: Letzte Zahlungsaufforderung mit Fristsetzung

Sehr geehrte Damen und Herren,

trotz unserer Mahnungen vom {{previous_notices}} schulden Sie uns weiterhin die folgenden Beträge:

{{invoice_table}}
{{recent_invoices}}
Hauptforderung: {{amount_due}}
Verzugszinsen bis zum {{as_of}}: {{interest}}
Pauschalen für Beitreibungskosten: {{indemnity}}
Gesamtbetrag: {{total_due}}

{{penalty_terms}} Die Zinsen laufen bis zur vollständigen Zahlung weiter.

Wir fordern Sie hiermit letztmalig auf, den Betrag von {{total_due}} innerhalb von {{reply_days}} Tagen nach Zugang dieses Schreibens, spätestens bis zum {{reply_by}}, auf unser Konto IBAN {{company_iban}} zu überweisen.

{{notice_law}}

Mit freundlichen Grüßen

Für {{company_name}}
Forderungsmanagement

{{sender_legal}}$t$),
-- level 5: legal handoff (a task for the collector)
(5, 'fr', NULL, 'Injonction de payer à engager : {{customer_name}} ({{customer_code}})',
$t$Dossier à transmettre pour une requête en injonction de payer.

Client : {{customer_name}} (code {{customer_code}})
{{customer_address}}
Relances restées sans effet : {{previous_notices}}
Date : {{as_of}}

{{invoice_table}}
{{recent_invoices}}
Principal : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total réclamé : {{total_due}}

Fondement : {{penalty_terms}}

À faire :
1. Vérifier qu'aucun règlement, avoir ou litige n'est intervenu depuis la mise en demeure.
2. Réunir les pièces : factures, bons de commande ou contrat, bons de livraison signés, conditions générales de vente acceptées, relances et mise en demeure avec l'avis de réception.
3. Déposer la requête en injonction de payer au greffe du tribunal de commerce du siège du débiteur (articles 1405 et suivants du Code de procédure civile), ou la confier à l'avocat ou à la société de recouvrement.
4. Consigner chaque démarche dans l'historique du client (ar.log_interaction).

L'historique complet des échanges avec le client figure dans ar.customer_timeline.$t$),
(5, 'en', NULL, 'Order for payment to apply for: {{customer_name}} ({{customer_code}})',
$t$File to hand over for an application for an order for payment (injonction de payer).

Customer: {{customer_name}} (code {{customer_code}})
{{customer_address}}
Reminders left unanswered: {{previous_notices}}
Date: {{as_of}}

{{invoice_table}}
{{recent_invoices}}
Principal: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total claimed: {{total_due}}

Legal basis: {{penalty_terms}}

To do:
1. Check that no payment, credit note or dispute has come in since the formal notice.
2. Gather the evidence: invoices, purchase orders or contract, signed delivery notes, accepted terms of sale, reminders and the formal notice with its acknowledgement of receipt.
3. File the application for an injonction de payer with the registry of the Commercial Court of the debtor's registered office (Articles 1405 et seq. of the French Code of Civil Procedure), or hand it over to the lawyer or the collection agency.
4. Record each step in the customer's history (ar.log_interaction).

The full history of exchanges with the customer is in ar.customer_timeline.$t$),
(5, 'de', NULL, 'Gerichtliches Verfahren einzuleiten: {{customer_name}} ({{customer_code}})',
$t$Vorgang zur Übergabe für ein gerichtliches Mahnverfahren.

Kunde: {{customer_name}} (Nummer {{customer_code}})
{{customer_address}}
Erfolglose Mahnungen: {{previous_notices}}
Datum: {{as_of}}

{{invoice_table}}
{{recent_invoices}}
Hauptforderung: {{amount_due}}
Verzugszinsen bis zum {{as_of}}: {{interest}}
Pauschalen für Beitreibungskosten: {{indemnity}}
Geforderter Gesamtbetrag: {{total_due}}

Rechtsgrundlage: {{penalty_terms}}

Zu tun:
1. Prüfen, dass seit der letzten Zahlungsaufforderung keine Zahlung, Gutschrift oder Beanstandung eingegangen ist.
2. Unterlagen zusammenstellen: Rechnungen, Bestellungen oder Vertrag, unterschriebene Lieferscheine, akzeptierte Verkaufsbedingungen, Mahnungen und letzte Zahlungsaufforderung mit Rückschein.
3. Das Verfahren beim zuständigen Gericht einleiten (Mahnverfahren, Europäisches Mahnverfahren oder injonction de payer beim Handelsgericht am Sitz des Schuldners) oder an den Anwalt bzw. das Inkassounternehmen übergeben.
4. Jeden Schritt in der Kundenhistorie festhalten (ar.log_interaction).

Die vollständige Historie mit dem Kunden steht in ar.customer_timeline.$t$)
) v(level, language, segment, subject, body)
 WHERE p.code = 'FR_STANDARD';

-- The statement of account (86_statement_of_account.sql): title, columns,
-- the label of each kind of line and ageing bucket, the sentences.

INSERT INTO ar.letter_text (key, language, text, shipped) VALUES
	('soa.title', 'fr', 'Relevé de compte', true),
	('soa.title', 'en', 'Statement of account', true),
	('soa.title', 'de', 'Kontoauszug', true),
	('soa.customer', 'fr', 'Client : {{code}} - {{name}}', true),
	('soa.customer', 'en', 'Customer: {{code}} - {{name}}', true),
	('soa.customer', 'de', 'Kunde: {{code}} - {{name}}', true),
	('soa.period', 'fr', 'Période du {{from}} au {{to}}', true),
	('soa.period', 'en', 'Period from {{from}} to {{to}}', true),
	('soa.period', 'de', 'Zeitraum vom {{from}} bis {{to}}', true),
	('soa.currency', 'fr', 'Devise :', true),
	('soa.currency', 'en', 'Currency:', true),
	('soa.currency', 'de', 'Währung:', true),
	('soa.date_format', 'fr', 'DD/MM/YYYY', true),
	('soa.date_format', 'en', 'DD/MM/YYYY', true),
	('soa.date_format', 'de', 'DD.MM.YYYY', true),
	('soa.col.date', 'fr', 'Date', true),
	('soa.col.date', 'en', 'Date', true),
	('soa.col.date', 'de', 'Datum', true),
	('soa.col.document', 'fr', 'Pièce', true),
	('soa.col.document', 'en', 'Document', true),
	('soa.col.document', 'de', 'Beleg', true),
	('soa.col.description', 'fr', 'Libellé', true),
	('soa.col.description', 'en', 'Description', true),
	('soa.col.description', 'de', 'Buchungstext', true),
	('soa.col.debit', 'fr', 'Débit', true),
	('soa.col.debit', 'en', 'Debit', true),
	('soa.col.debit', 'de', 'Soll', true),
	('soa.col.credit', 'fr', 'Crédit', true),
	('soa.col.credit', 'en', 'Credit', true),
	('soa.col.credit', 'de', 'Haben', true),
	('soa.col.balance', 'fr', 'Solde', true),
	('soa.col.balance', 'en', 'Balance', true),
	('soa.col.balance', 'de', 'Saldo', true),
	('soa.kind.opening_balance', 'fr', 'Solde d''ouverture', true),
	('soa.kind.opening_balance', 'en', 'Opening balance', true),
	('soa.kind.opening_balance', 'de', 'Anfangssaldo', true),
	('soa.kind.closing_balance', 'fr', 'Solde de clôture', true),
	('soa.kind.closing_balance', 'en', 'Closing balance', true),
	('soa.kind.closing_balance', 'de', 'Endsaldo', true),
	('soa.kind.invoice', 'fr', 'Facture', true),
	('soa.kind.invoice', 'en', 'Invoice', true),
	('soa.kind.invoice', 'de', 'Rechnung', true),
	('soa.kind.penalty_invoice', 'fr', 'Facture de pénalités', true),
	('soa.kind.penalty_invoice', 'en', 'Late-payment charges', true),
	('soa.kind.penalty_invoice', 'de', 'Verzugszinsrechnung', true),
	('soa.kind.credit_note', 'fr', 'Avoir', true),
	('soa.kind.credit_note', 'en', 'Credit note', true),
	('soa.kind.credit_note', 'de', 'Gutschrift', true),
	('soa.kind.cancellation', 'fr', 'Annulation', true),
	('soa.kind.cancellation', 'en', 'Cancellation', true),
	('soa.kind.cancellation', 'de', 'Storno', true),
	('soa.kind.payment', 'fr', 'Règlement', true),
	('soa.kind.payment', 'en', 'Payment', true),
	('soa.kind.payment', 'de', 'Zahlung', true),
	('soa.kind.payment_on_account', 'fr', 'Règlement non affecté', true),
	('soa.kind.payment_on_account', 'en', 'Payment on account', true),
	('soa.kind.payment_on_account', 'de', 'Nicht zugeordnete Zahlung', true),
	('soa.kind.credit_granted', 'fr', 'Crédit accordé', true),
	('soa.kind.credit_granted', 'en', 'Credit granted', true),
	('soa.kind.credit_granted', 'de', 'Gewährtes Guthaben', true),
	('soa.kind.write_off', 'fr', 'Passage en perte', true),
	('soa.kind.write_off', 'en', 'Write-off', true),
	('soa.kind.write_off', 'de', 'Ausbuchung', true),
	('soa.kind.refund', 'fr', 'Remboursement', true),
	('soa.kind.refund', 'en', 'Refund', true),
	('soa.kind.refund', 'de', 'Erstattung', true),
	('soa.kind.adjustment', 'fr', 'Régularisation', true),
	('soa.kind.adjustment', 'en', 'Adjustment', true),
	('soa.kind.adjustment', 'de', 'Korrektur', true),
	('soa.kind.customer_credit', 'fr', 'Avoir client non utilisé', true),
	('soa.kind.customer_credit', 'en', 'Unapplied credit', true),
	('soa.kind.customer_credit', 'de', 'Nicht verrechnetes Guthaben', true),
	('soa.kind.not_due', 'fr', 'Non échu', true),
	('soa.kind.not_due', 'en', 'Not yet due', true),
	('soa.kind.not_due', 'de', 'Nicht fällig', true),
	('soa.kind.d1_30', 'fr', 'Échu de 1 à 30 jours', true),
	('soa.kind.d1_30', 'en', '1 to 30 days overdue', true),
	('soa.kind.d1_30', 'de', '1 bis 30 Tage überfällig', true),
	('soa.kind.d31_60', 'fr', 'Échu de 31 à 60 jours', true),
	('soa.kind.d31_60', 'en', '31 to 60 days overdue', true),
	('soa.kind.d31_60', 'de', '31 bis 60 Tage überfällig', true),
	('soa.kind.d61_90', 'fr', 'Échu de 61 à 90 jours', true),
	('soa.kind.d61_90', 'en', '61 to 90 days overdue', true),
	('soa.kind.d61_90', 'de', '61 bis 90 Tage überfällig', true),
	('soa.kind.d91_plus', 'fr', 'Échu depuis plus de 90 jours', true),
	('soa.kind.d91_plus', 'en', 'Over 90 days overdue', true),
	('soa.kind.d91_plus', 'de', 'Über 90 Tage überfällig', true),
	('soa.kind.unapplied_credit', 'fr', 'Avoirs clients non utilisés', true),
	('soa.kind.unapplied_credit', 'en', 'Unapplied credit', true),
	('soa.kind.unapplied_credit', 'de', 'Nicht verrechnetes Guthaben', true),
	('soa.kind.total', 'fr', 'Solde', true),
	('soa.kind.total', 'en', 'Balance', true),
	('soa.kind.total', 'de', 'Saldo', true),
	('soa.open_items', 'fr', 'Pièces non soldées au {{date}} :', true),
	('soa.open_items', 'en', 'Open items on {{date}}:', true),
	('soa.open_items', 'de', 'Offene Posten am {{date}}:', true),
	('soa.no_open_items', 'fr', 'Aucune pièce non soldée.', true),
	('soa.no_open_items', 'en', 'No open items.', true),
	('soa.no_open_items', 'de', 'Keine offenen Posten.', true),
	('soa.ageing', 'fr', 'Balance âgée :', true),
	('soa.ageing', 'en', 'Ageing:', true),
	('soa.ageing', 'de', 'Altersstruktur:', true),
	('soa.owed', 'fr', 'Solde en notre faveur au {{date}} : {{amount}}. Sauf erreur ou omission de notre part.', true),
	('soa.owed', 'en', 'Balance due to us on {{date}}: {{amount}}. Errors and omissions excepted.', true),
	('soa.owed', 'de', 'Saldo zu unseren Gunsten am {{date}}: {{amount}}. Irrtum vorbehalten.', true),
	('soa.credit', 'fr', 'Solde en votre faveur au {{date}} : {{amount}}. Sauf erreur ou omission de notre part.', true),
	('soa.credit', 'en', 'Balance in your favour on {{date}}: {{amount}}. Errors and omissions excepted.', true),
	('soa.credit', 'de', 'Saldo zu Ihren Gunsten am {{date}}: {{amount}}. Irrtum vorbehalten.', true),
	('soa.settled', 'fr', 'Votre compte est soldé au {{date}}.', true),
	('soa.settled', 'en', 'Your account is settled on {{date}}.', true),
	('soa.settled', 'de', 'Ihr Konto ist am {{date}} ausgeglichen.', true),
	('soa.subject', 'fr', 'Relevé de compte au {{date}} - {{code}} - {{company}}', true),
	('soa.subject', 'en', 'Statement of account on {{date}} - {{code}} - {{company}}', true),
	('soa.subject', 'de', 'Kontoauszug zum {{date}} - {{code}} - {{company}}', true);

-- ----------------------------------------------------------- audit, dump

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['letter_text', 'penalty_wording'] LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row()',
		               t || '_audit', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;

-- pg_dump keeps the rows of the user's (shipped ones come with CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('ar.letter_text', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.penalty_wording', 'WHERE NOT shipped');
