//! Real Île-de-France municipalities with their postal codes, first and family
//! names. Postal codes are La Poste's (one code per municipality; Paris by
//! arrondissement). The municipalities marked `campaign` are listed in the
//! PUNCT-2024 operations (rules/data/campaign_punct_2024.json); a test checks it.

/// A municipality of residence or work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Official name.
    pub name: &'static str,
    /// Postal code.
    pub postal_code: &'static str,
}

const fn p(name: &'static str, postal_code: &'static str) -> Place {
    Place { name, postal_code }
}

/// Municipalities of the PUNCT-2024 operations (RER B north and south, RER C
/// south, T12).
pub const CAMPAIGN_PLACES: [Place; 35] = [
    p("Aulnay-sous-Bois", "93600"),
    p("Sevran", "93270"),
    p("Tremblay-en-France", "93290"),
    p("Villepinte", "93420"),
    p("Livry-Gargan", "93190"),
    p("Mitry-Mory", "77290"),
    p("Villeparisis", "77270"),
    p("Claye-Souilly", "77410"),
    p("Vaujours", "93410"),
    p("Roissy-en-France", "95700"),
    p("Louvres", "95380"),
    p("Antony", "92160"),
    p("Bourg-la-Reine", "92340"),
    p("Massy", "91300"),
    p("Palaiseau", "91120"),
    p("Orsay", "91400"),
    p("Gif-sur-Yvette", "91190"),
    p("Les Ulis", "91940"),
    p("Fresnes", "94260"),
    p("L'Haÿ-les-Roses", "94240"),
    p("Châtenay-Malabry", "92290"),
    p("Longjumeau", "91160"),
    p("Chilly-Mazarin", "91380"),
    p("Étampes", "91150"),
    p("Étréchy", "91580"),
    p("Lardy", "91510"),
    p("Brétigny-sur-Orge", "91220"),
    p("Arpajon", "91290"),
    p("Dourdan", "91410"),
    p("Évry-Courcouronnes", "91000"),
    p("Grigny", "91350"),
    p("Ris-Orangis", "91130"),
    p("Savigny-sur-Orge", "91600"),
    p("Viry-Châtillon", "91170"),
    p("Morangis", "91420"),
];

/// Other municipalities of the inner and outer suburbs, outside the campaign.
pub const OTHER_PLACES: [Place; 20] = [
    p("Saint-Denis", "93200"),
    p("Montreuil", "93100"),
    p("Boulogne-Billancourt", "92100"),
    p("Nanterre", "92000"),
    p("Versailles", "78000"),
    p("Argenteuil", "95100"),
    p("Créteil", "94000"),
    p("Vitry-sur-Seine", "94400"),
    p("Vincennes", "94300"),
    p("Cergy", "95000"),
    p("Meaux", "77100"),
    p("Melun", "77000"),
    p("Noisy-le-Grand", "93160"),
    p("Courbevoie", "92400"),
    p("Rueil-Malmaison", "92500"),
    p("Saint-Germain-en-Laye", "78100"),
    p("Ivry-sur-Seine", "94200"),
    p("Colombes", "92700"),
    p("Asnières-sur-Seine", "92600"),
    p("Champigny-sur-Marne", "94500"),
];

/// Places of work or study: business districts, the airport, universities.
pub const WORK_STUDY_PLACES: [Place; 10] = [
    p("Paris", "75008"),
    p("Puteaux", "92800"),
    p("Courbevoie", "92400"),
    p("Saint-Denis", "93200"),
    p("Issy-les-Moulineaux", "92130"),
    p("Roissy-en-France", "95700"),
    p("Massy", "91300"),
    p("Orsay", "91400"),
    p("Champs-sur-Marne", "77420"),
    p("Créteil", "94000"),
];

/// The Paris postal code of an arrondissement (1 to 20).
pub fn paris_postal_code(arrondissement: u32) -> String {
    format!("750{:02}", arrondissement.clamp(1, 20))
}

/// Streets found in most Île-de-France municipalities.
pub const STREETS: [&str; 12] = [
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Gambetta",
    "rue Pasteur",
    "avenue du Général de Gaulle",
    "rue de Paris",
    "allée des Tilleuls",
    "rue Jules Ferry",
    "avenue de la Gare",
    "rue Émile Zola",
    "place de la Mairie",
];

/// Common French given names (INSEE birth-name files, frequent across decades).
pub const FIRST_NAMES: [&str; 24] = [
    "Marie", "Jean", "Nathalie", "Pierre", "Isabelle", "Michel", "Sophie", "Philippe", "Camille",
    "Nicolas", "Léa", "Thomas", "Inès", "Karim", "Fatima", "Mamadou", "Chloé", "Lucas", "Sarah",
    "Mohamed", "Julie", "Antoine", "Manon", "Hugo",
];

/// Common French family names (INSEE).
pub const LAST_NAMES: [&str; 24] = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Diallo", "Nguyen", "Benali", "Traoré",
];

#[cfg(test)]
mod tests {
    use super::*;
    use navigo_rules::punctuality::normalize_municipality;

    #[test]
    fn campaign_places_are_listed_in_punct_2024() {
        let campaigns =
            navigo_rules::reference::builtin_campaigns().expect("built-in campaigns load");
        let listed: std::collections::BTreeSet<String> = campaigns
            .iter()
            .flat_map(|(_, c)| c.operations.iter())
            .flat_map(|o| o.municipalities.iter())
            .map(|m| normalize_municipality(m))
            .collect();
        for place in CAMPAIGN_PLACES {
            assert!(
                listed.contains(&normalize_municipality(place.name)),
                "{} is not in PUNCT-2024",
                place.name
            );
        }
        for place in OTHER_PLACES {
            assert!(
                !listed.contains(&normalize_municipality(place.name)),
                "{} is in PUNCT-2024",
                place.name
            );
        }
    }
}
