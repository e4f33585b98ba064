//! Salesforce exports (Data Loader / Bulk API CSV): a header of API field names, optional UTF-8
//! BOM, columns in any order, extra columns ignored, quoted multi-line fields, mixed boolean and
//! datetime styles, 15- or 18-character Ids (always emitted in 18-character form).
//!
//! Output columns are the snake_case forms of the API names the pipeline uses.

use std::collections::HashMap;

use datafusion::arrow::datatypes::SchemaRef;

use super::columns::{BatchBuilder, Kind, Value, schema_of};
use super::parse;
use super::{FileContext, FormatReader, ReadError, Reject};
use crate::extract::open::FileReader;

/// How a Salesforce field is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfType {
    /// A record Id (converted to 18 characters).
    Id,
    /// Free text.
    Text,
    /// A checkbox.
    Bool,
    /// A UTC datetime.
    DateTime,
    /// A date.
    Date,
    /// A currency amount.
    Money,
}

impl SfType {
    fn kind(self) -> Kind {
        match self {
            SfType::Id | SfType::Text => Kind::Utf8,
            SfType::Bool => Kind::Bool,
            SfType::DateTime => Kind::TimestampUtc,
            SfType::Date => Kind::Date,
            SfType::Money => Kind::Money,
        }
    }

    fn parse(self, s: &str) -> Result<Value, String> {
        match self {
            SfType::Id => parse::sf_id(s),
            SfType::Text => Ok(if s.is_empty() {
                Value::Null
            } else {
                Value::Str(s.to_string())
            }),
            SfType::Bool => parse::boolean(s),
            SfType::DateTime => parse::sf_datetime(s),
            SfType::Date => parse::date(s),
            SfType::Money => parse::money(s),
        }
    }
}

/// One field of an object: API name, output column, type, and whether a file must have it.
#[derive(Debug, Clone, Copy)]
pub struct SfField {
    /// The API name in the export header.
    pub api: &'static str,
    /// The output column name.
    pub column: &'static str,
    /// The field's type.
    pub ty: SfType,
    /// A header without this field is an error.
    pub required: bool,
}

const fn f(api: &'static str, column: &'static str, ty: SfType, required: bool) -> SfField {
    SfField {
        api,
        column,
        ty,
        required,
    }
}

use SfType::{Bool, Date, DateTime, Id, Money, Text};

/// The Salesforce objects the pipeline reads, with the fields it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfObject {
    /// CRM users: the agents.
    User,
    /// Accounts: the customers.
    Account,
    /// Leads.
    Lead,
    /// Opportunities.
    Opportunity,
    /// Orders.
    Order,
    /// Monthly quotas.
    ForecastingQuota,
}

impl SfObject {
    /// Every object, in load order.
    pub const ALL: [SfObject; 6] = [
        SfObject::User,
        SfObject::Account,
        SfObject::Lead,
        SfObject::Opportunity,
        SfObject::Order,
        SfObject::ForecastingQuota,
    ];

    /// The object's API name, as in `crm/<Object>/`.
    pub fn api_name(self) -> &'static str {
        match self {
            SfObject::User => "User",
            SfObject::Account => "Account",
            SfObject::Lead => "Lead",
            SfObject::Opportunity => "Opportunity",
            SfObject::Order => "Order",
            SfObject::ForecastingQuota => "ForecastingQuota",
        }
    }

    /// Lower-case name used in table names (`raw_crm_<name>`).
    pub fn table_suffix(self) -> &'static str {
        match self {
            SfObject::User => "user",
            SfObject::Account => "account",
            SfObject::Lead => "lead",
            SfObject::Opportunity => "opportunity",
            SfObject::Order => "order",
            SfObject::ForecastingQuota => "forecasting_quota",
        }
    }

    /// The fields read from this object's exports.
    pub fn fields(self) -> &'static [SfField] {
        match self {
            SfObject::User => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("Name", "name", Text, false),
                    f("Email", "email", Text, false),
                    f("Extension", "extension", Text, false),
                    f("Department", "department", Text, false),
                    f("IsActive", "is_active", Bool, false),
                    f("ManagerId", "manager_id", Id, false),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                ];
                F
            }
            SfObject::Account => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("Name", "name", Text, false),
                    f("Phone", "phone", Text, false),
                    f("Industry", "industry", Text, false),
                    f("BillingCity", "billing_city", Text, false),
                    f("OwnerId", "owner_id", Id, false),
                    f("CreatedDate", "created_at", DateTime, true),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                    f("IsDeleted", "is_deleted", Bool, false),
                ];
                F
            }
            SfObject::Lead => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("FirstName", "first_name", Text, false),
                    f("LastName", "last_name", Text, false),
                    f("Company", "company", Text, false),
                    f("Phone", "phone", Text, false),
                    f("MobilePhone", "mobile_phone", Text, false),
                    f("Email", "email", Text, false),
                    f("LeadSource", "lead_source", Text, false),
                    f("Status", "status", Text, false),
                    f("OwnerId", "owner_id", Id, false),
                    f("IsConverted", "is_converted", Bool, false),
                    f("ConvertedDate", "converted_date", Date, false),
                    f("ConvertedAccountId", "converted_account_id", Id, false),
                    f(
                        "ConvertedOpportunityId",
                        "converted_opportunity_id",
                        Id,
                        false,
                    ),
                    f("CreatedDate", "created_at", DateTime, true),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                    f("IsDeleted", "is_deleted", Bool, false),
                ];
                F
            }
            SfObject::Opportunity => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("AccountId", "account_id", Id, false),
                    f("Name", "name", Text, false),
                    f("StageName", "stage_name", Text, false),
                    f("Amount", "amount", Money, false),
                    f("CloseDate", "close_date", Date, true),
                    f("IsClosed", "is_closed", Bool, false),
                    f("IsWon", "is_won", Bool, false),
                    f("LeadSource", "lead_source", Text, false),
                    f("OwnerId", "owner_id", Id, false),
                    f("CreatedDate", "created_at", DateTime, true),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                    f("IsDeleted", "is_deleted", Bool, false),
                ];
                F
            }
            SfObject::Order => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("OrderNumber", "order_number", Text, false),
                    f("AccountId", "account_id", Id, false),
                    f("OpportunityId", "opportunity_id", Id, false),
                    f("OwnerId", "owner_id", Id, false),
                    f("Status", "status", Text, true),
                    f("EffectiveDate", "effective_date", Date, true),
                    f("TotalAmount", "total_amount", Money, false),
                    f("CreatedDate", "created_at", DateTime, false),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                    f("IsDeleted", "is_deleted", Bool, false),
                ];
                F
            }
            SfObject::ForecastingQuota => {
                const F: &[SfField] = &[
                    f("Id", "id", Id, true),
                    f("QuotaOwnerId", "quota_owner_id", Id, true),
                    f("StartDate", "start_date", Date, true),
                    f("QuotaAmount", "quota_amount", Money, true),
                    f("LastModifiedDate", "last_modified_at", DateTime, true),
                ];
                F
            }
        }
    }
}

/// Reads the exports of one Salesforce object.
#[derive(Debug)]
pub struct SalesforceReader {
    object: SfObject,
    schema: SchemaRef,
}

impl SalesforceReader {
    /// A reader for `object`.
    pub fn new(object: SfObject) -> Self {
        let mut fields: Vec<(&str, Kind)> = object
            .fields()
            .iter()
            .map(|f| (f.column, f.ty.kind()))
            .collect();
        fields.push(("source_line", Kind::Int64));
        Self {
            object,
            schema: schema_of(&fields),
        }
    }
}

impl FormatReader for SalesforceReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(
        &self,
        input: FileReader,
        ctx: &FileContext,
        emit: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), ReadError>,
    ) -> Result<u64, ReadError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(crate::extract::open::CrlfToLf::new(input));
        let mut record = csv::ByteRecord::new();
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(0), // an empty file: no rows
            Err(e) => return Err(ctx.csv_error(e)),
        }
        ctx.check_text(&record)?;
        let header: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h)
                } else {
                    h
                };
                String::from_utf8_lossy(h).trim().to_ascii_lowercase()
            })
            .collect();
        let by_name: HashMap<&str, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let fields = self.object.fields();
        let mut positions = Vec::with_capacity(fields.len());
        for field in fields {
            let pos = by_name
                .get(field.api.to_ascii_lowercase().as_str())
                .copied();
            if pos.is_none() && field.required {
                return Err(ReadError::MissingColumn {
                    file: ctx.file.clone(),
                    column: field.api.to_string(),
                });
            }
            positions.push(pos);
        }
        let mut out = BatchBuilder::new(self.schema.clone());
        let mut row = vec![Value::Null; fields.len() + 1];
        let mut rows = 0u64;
        'records: loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(ctx.csv_error(e)),
            }
            ctx.check_text(&record)?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                continue;
            }
            if record.len() != header.len() {
                let reason = format!("expected {} columns, found {}", header.len(), record.len());
                ctx.reject(Reject::at(ctx, line, None, reason, &joined(&record)));
                continue;
            }
            for (i, (field, pos)) in fields.iter().zip(&positions).enumerate() {
                let raw = pos.and_then(|p| record.get(p)).unwrap_or(b"");
                let text = String::from_utf8_lossy(raw);
                match field.ty.parse(&text) {
                    Ok(v) => row[i] = v,
                    Err(reason) => {
                        ctx.reject(Reject::at(
                            ctx,
                            line,
                            Some(field.api.to_string()),
                            reason,
                            &joined(&record),
                        ));
                        continue 'records;
                    }
                }
                if field.required && matches!(row[i], Value::Null) {
                    let reason = format!("{} is empty", field.api);
                    ctx.reject(Reject::at(
                        ctx,
                        line,
                        Some(field.api.to_string()),
                        reason,
                        &joined(&record),
                    ));
                    continue 'records;
                }
            }
            row[fields.len()] = Value::Int(line as i64);
            out.push(&row);
            rows += 1;
            if out.len() >= ctx.batch_size {
                emit(&mut out)?;
            }
        }
        if !out.is_empty() {
            emit(&mut out)?;
        }
        Ok(rows)
    }
}

fn joined(record: &csv::ByteRecord) -> Vec<u8> {
    record.iter().collect::<Vec<_>>().join(&b","[..])
}
