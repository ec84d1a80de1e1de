//! Companies: `CompanyOut` and the `GET /companies/` page `CompaniesOut`.

use serde::{Deserialize, Serialize};

use super::de;
use super::ids::CompanyId;

/// `CompanyOut`: one company the API key can act for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyOut {
    pub id: CompanyId,
    pub name: String,
    pub owner_id: i64,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub payments_locked: bool,
    /// IANA zone name, e.g. `Asia/Oral`.
    pub timezone: String,
    pub payment_currency: PaymentCurrency,
    pub waba_360dialog_partner_id: Option<String>,
    #[serde(default = "de::yes")]
    pub had_connections: bool,
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub is_partner: bool,
}

/// `CompaniesOut`: `{count, companies}` page of `GET /companies/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompaniesOut {
    pub count: i64,
    pub companies: Vec<CompanyOut>,
}

/// `PaymentCurrency`: billing currency of a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PaymentCurrency {
    Rub,
    Usd,
    /// A currency this crate does not know yet.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn company_page_round_trips_and_fills_defaults() {
        let full = json!({"count": 1, "companies": [{
            "id": 123456, "name": "Acme", "owner_id": 42, "payments_locked": false,
            "timezone": "Asia/Oral", "payment_currency": "RUB",
            "waba_360dialog_partner_id": null, "had_connections": true, "is_partner": false
        }]});
        let page: CompaniesOut = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(page.companies[0].id, CompanyId(123456));
        assert_eq!(serde_json::to_value(&page).unwrap(), full);

        let minimal = json!({"id": 1, "name": "A", "owner_id": 2, "timezone": "UTC",
            "payment_currency": "KZT"});
        let company: CompanyOut = serde_json::from_value(minimal).unwrap();
        assert!(company.had_connections && !company.is_partner);
        assert_eq!(company.payment_currency, PaymentCurrency::Unknown);
    }
}
