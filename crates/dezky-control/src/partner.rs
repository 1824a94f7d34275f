//! Partners (resellers): status, editable fields, create and PATCH bodies.

use crate::field::{self, FieldError, Patch};
use crate::tenant::BillingInfo;
use crate::validate;
use dezky_core::Slug;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartnerStatus {
    Active,
    Suspended,
    Terminated,
}

impl PartnerStatus {
    pub const ALL: [PartnerStatus; 3] = [
        PartnerStatus::Active,
        PartnerStatus::Suspended,
        PartnerStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Suspended => "suspended",
            PartnerStatus::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Option<PartnerStatus> {
        PartnerStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Termination is final and soft: the partner stays (its tenants keep their reference).
    pub fn terminate(self) -> Result<PartnerStatus, String> {
        match self {
            PartnerStatus::Terminated => Err("the partner is already terminated".to_owned()),
            _ => Ok(PartnerStatus::Terminated),
        }
    }

    /// Only an active partner takes on new customers.
    pub fn check_accepts_tenants(self) -> Result<(), String> {
        match self {
            PartnerStatus::Active => Ok(()),
            other => Err(format!("the partner is {}", other.as_str())),
        }
    }
}

/// Contact details of a partner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl ContactInfo {
    pub const FIELDS: [&'static str; 3] = ["name", "email", "phone"];

    pub fn parse(value: &Value) -> Result<ContactInfo, FieldError> {
        let object = field::object("contactInfo", value)?;
        if let Some(unknown) = object.keys().find(|key| !ContactInfo::FIELDS.contains(&key.as_str())) {
            return Err(FieldError::new(
                format!("contactInfo.{unknown}"),
                format!("unknown field; expected one of {}", ContactInfo::FIELDS.join(", ")),
            ));
        }
        Ok(ContactInfo {
            name: field::optional(object, "name", |value| {
                field::string("contactInfo.name", value, validate::display_name)
            })?,
            email: field::optional(object, "email", |value| {
                field::string("contactInfo.email", value, validate::optional_email)
            })?
            .flatten(),
            phone: field::optional(object, "phone", |value| {
                field::string("contactInfo.phone", value, validate::short_text)
            })?,
        })
    }
}

/// What a partner update may change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerFields {
    pub name: String,
    pub domain: Option<String>,
    pub status: PartnerStatus,
    pub margin_pct: f64,
    pub contact_info: ContactInfo,
    pub billing_info: BillingInfo,
}

impl PartnerFields {
    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

fn parse_margin(value: &Value) -> Result<f64, FieldError> {
    field::number("marginPct", value, 0.0, 100.0)
}

fn parse_domain(value: &Value) -> Result<String, FieldError> {
    field::string("domain", value, validate::domain)
}

fn parse_name(value: &Value) -> Result<String, FieldError> {
    field::string("name", value, validate::display_name)
}

/// A validated create-partner body.
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerDraft {
    pub slug: Slug,
    pub fields: PartnerFields,
}

impl PartnerDraft {
    pub const FIELDS: [&'static str; 6] = ["slug", "name", "domain", "marginPct", "contactInfo", "billingInfo"];

    pub fn parse(body: &Map<String, Value>) -> Result<PartnerDraft, FieldError> {
        field::reject_unknown(body, &PartnerDraft::FIELDS)?;
        let slug = field::string("slug", field::required(body, "slug")?, validate::slug)?;
        Ok(PartnerDraft {
            slug,
            fields: PartnerFields {
                name: parse_name(field::required(body, "name")?)?,
                domain: field::optional(body, "domain", parse_domain)?,
                status: PartnerStatus::Active,
                margin_pct: field::optional(body, "marginPct", parse_margin)?.unwrap_or(0.0),
                contact_info: field::optional(body, "contactInfo", ContactInfo::parse)?.unwrap_or_default(),
                billing_info: field::optional(body, "billingInfo", |value| BillingInfo::parse("billingInfo", value))?
                    .unwrap_or_default(),
            },
        })
    }
}

/// A validated partner PATCH body.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub domain: Patch<String>,
    pub status: Option<PartnerStatus>,
    pub margin_pct: Option<f64>,
    pub contact_info: Patch<ContactInfo>,
    pub billing_info: Patch<BillingInfo>,
}

impl PartnerPatch {
    pub const FIELDS: [&'static str; 6] = ["name", "domain", "status", "marginPct", "contactInfo", "billingInfo"];

    pub fn parse(body: &Map<String, Value>) -> Result<PartnerPatch, FieldError> {
        if body.contains_key("slug") {
            return Err(FieldError::new("slug", "is immutable"));
        }
        field::reject_unknown(body, &PartnerPatch::FIELDS)?;
        for required in ["name", "status", "marginPct"] {
            if body.get(required) == Some(&Value::Null) {
                return Err(FieldError::new(required, "cannot be unset"));
            }
        }
        let status = field::optional(body, "status", |value| {
            field::string("status", value, |text| match PartnerStatus::parse(text) {
                Some(PartnerStatus::Terminated) => Err("terminate a partner with DELETE".to_owned()),
                Some(status) => Ok(status),
                None => Err(format!("'{text}' is not active or suspended")),
            })
        })?;
        Ok(PartnerPatch {
            name: field::optional(body, "name", parse_name)?,
            domain: field::patch(body, "domain", parse_domain)?,
            status,
            margin_pct: field::optional(body, "marginPct", parse_margin)?,
            contact_info: field::patch(body, "contactInfo", ContactInfo::parse)?,
            billing_info: field::patch(body, "billingInfo", |value| BillingInfo::parse("billingInfo", value))?,
        })
    }

    /// The fields after the patch. A terminated partner can no longer change status.
    pub fn apply(self, current: &PartnerFields) -> Result<PartnerFields, String> {
        if current.status == PartnerStatus::Terminated && self.status.is_some_and(|status| status != current.status) {
            return Err("a terminated partner cannot be reactivated".to_owned());
        }
        let current = current.clone();
        Ok(PartnerFields {
            name: self.name.unwrap_or(current.name),
            domain: self.domain.apply(current.domain),
            status: self.status.unwrap_or(current.status),
            margin_pct: self.margin_pct.unwrap_or(current.margin_pct),
            contact_info: self.contact_info.apply(Some(current.contact_info)).unwrap_or_default(),
            billing_info: self.billing_info.apply(Some(current.billing_info)).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn draft() -> PartnerDraft {
        PartnerDraft::parse(&body(
            json!({"slug": "resell", "name": "Resell AG", "domain": "resell.example",
            "marginPct": 20, "contactInfo": {"name": "Rita", "email": "rita@resell.example"}}),
        ))
        .unwrap()
    }

    #[test]
    fn drafts_start_active() {
        let draft = draft();
        assert_eq!(draft.fields.status, PartnerStatus::Active);
        assert_eq!(draft.fields.margin_pct, 20.0);
        assert_eq!(draft.fields.contact_info.email.as_deref(), Some("rita@resell.example"));
        let minimal = PartnerDraft::parse(&body(json!({"slug": "p", "name": "P"}))).unwrap();
        assert_eq!(minimal.fields.margin_pct, 0.0);
        assert_eq!(minimal.fields.domain, None);
    }

    #[test]
    fn bad_partner_input_names_the_field() {
        for (input, field) in [
            (json!({"slug": "p", "name": "P", "marginPct": 101}), "marginPct"),
            (json!({"slug": "p", "name": "P", "marginPct": -1}), "marginPct"),
            (json!({"slug": "p", "name": "P", "marginPct": "5"}), "marginPct"),
            (json!({"slug": "p", "name": "P", "domain": "nope"}), "domain"),
            (
                json!({"slug": "p", "name": "P", "contactInfo": {"email": "nope"}}),
                "contactInfo.email",
            ),
            (
                json!({"slug": "p", "name": "P", "contactInfo": {"fax": "1"}}),
                "contactInfo.fax",
            ),
            (json!({"slug": "p", "name": "P", "status": "active"}), "status"),
            (json!({"slug": "P!", "name": "P"}), "slug"),
            (json!({"slug": "p"}), "name"),
        ] {
            assert_eq!(
                PartnerDraft::parse(&body(input.clone())).unwrap_err().field,
                field,
                "{input}"
            );
        }
    }

    #[test]
    fn patches_merge_and_diff() {
        let current = draft().fields;
        let patch =
            PartnerPatch::parse(&body(json!({"marginPct": 25.5, "domain": null, "name": "Resell AG"}))).unwrap();
        let after = patch.apply(&current).unwrap();
        let changes = crate::diff(&current.to_json(), &after.to_json());
        assert_eq!(changes.len(), 2);
        assert_eq!(changes["marginPct"], json!({"from": 20.0, "to": 25.5}));
        assert_eq!(changes["domain"], json!({"from": "resell.example", "to": null}));
    }

    #[test]
    fn patches_refuse_termination_and_reactivation() {
        assert_eq!(
            PartnerPatch::parse(&body(json!({"status": "terminated"})))
                .unwrap_err()
                .field,
            "status"
        );
        assert_eq!(
            PartnerPatch::parse(&body(json!({"status": "gone"}))).unwrap_err().field,
            "status"
        );
        assert_eq!(
            PartnerPatch::parse(&body(json!({"slug": "x"}))).unwrap_err().field,
            "slug"
        );
        assert_eq!(
            PartnerPatch::parse(&body(json!({"marginPct": null})))
                .unwrap_err()
                .field,
            "marginPct"
        );
        let mut terminated = draft().fields;
        terminated.status = PartnerStatus::Terminated;
        let reactivate = PartnerPatch::parse(&body(json!({"status": "active"}))).unwrap();
        assert!(reactivate.apply(&terminated).is_err());
        let rename = PartnerPatch::parse(&body(json!({"name": "Old"}))).unwrap();
        assert_eq!(rename.apply(&terminated).unwrap().name, "Old");
    }

    #[test]
    fn lifecycle() {
        assert_eq!(PartnerStatus::Active.terminate(), Ok(PartnerStatus::Terminated));
        assert_eq!(PartnerStatus::Suspended.terminate(), Ok(PartnerStatus::Terminated));
        assert!(PartnerStatus::Terminated.terminate().is_err());
        assert!(PartnerStatus::Active.check_accepts_tenants().is_ok());
        assert!(PartnerStatus::Suspended.check_accepts_tenants().is_err());
        assert!(PartnerStatus::Terminated.check_accepts_tenants().is_err());
        for status in PartnerStatus::ALL {
            assert_eq!(PartnerStatus::parse(status.as_str()), Some(status));
        }
    }
}
