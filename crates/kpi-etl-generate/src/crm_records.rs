//! Salesforce record versions and their CSV columns. Each object lists its columns in its own
//! export order (not alphabetical), with columns the pipeline does not use (hazard: extra and
//! reordered columns); [`Style`] decides how a file spells booleans, datetimes and Ids.

use chrono::NaiveDate;

use super::clock::utc_iso;
use super::rng::hash2;
use super::sfid::SfId;

/// How one CSV file spells values (chosen per file).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Starts with a UTF-8 BOM.
    pub bom: bool,
    /// Datetimes end in `.000Z` (else `.000+0000`).
    pub zulu: bool,
    /// Booleans: 0 `true/false`, 1 `1/empty`, 2 `TRUE/FALSE`, 3 `1/0`.
    pub bools: u8,
    /// CRLF line ends.
    pub crlf: bool,
    /// Columns in reverse order.
    pub reversed: bool,
    /// Per-file salt deciding which Ids appear in 15-character form.
    pub salt: u64,
}

impl Style {
    /// A Salesforce datetime.
    pub fn dt(&self, epoch: i64) -> String {
        format!(
            "{}.000{}",
            utc_iso(epoch),
            if self.zulu { "Z" } else { "+0000" }
        )
    }

    /// A boolean in this file's spelling.
    pub fn b(&self, v: bool) -> &'static str {
        match (self.bools, v) {
            (0, true) => "true",
            (0, false) => "false",
            (1, true) => "1",
            (1, false) => "",
            (2, true) => "TRUE",
            (2, false) => "FALSE",
            (_, true) => "1",
            (_, false) => "0",
        }
    }

    /// An Id, in 15-character form for about one value in ten (decided per file, column and
    /// record, so both forms of one record occur across files).
    pub fn id(&self, id: &SfId, column: u64) -> String {
        if hash2(self.salt ^ column, id.key()).is_multiple_of(10) {
            id.id15()
        } else {
            id.id18()
        }
    }

    /// An optional Id.
    pub fn opt_id(&self, id: &Option<SfId>, column: u64) -> String {
        id.as_ref().map(|i| self.id(i, column)).unwrap_or_default()
    }
}

/// A date `YYYY-MM-DD`.
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Money in cents as an amount with two decimals.
pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A record type exported as one Salesforce object.
pub trait SfRecord {
    /// Object API name (directory and file name).
    const OBJECT: &'static str;
    /// Header, in export order.
    const COLUMNS: &'static [&'static str];
    /// The value of column `col` in `style`.
    fn field(&self, col: &str, st: &Style) -> String;
}

/// A version of a User.
#[derive(Debug, Clone)]
pub struct UserRec {
    /// Id.
    pub id: SfId,
    /// FirstName.
    pub first: String,
    /// LastName.
    pub last: String,
    /// Email.
    pub email: String,
    /// Extension.
    pub ext: Option<u32>,
    /// Department.
    pub dept: String,
    /// Title.
    pub title: String,
    /// IsActive.
    pub active: bool,
    /// ManagerId.
    pub manager: Option<SfId>,
    /// CreatedDate (epoch).
    pub created: i64,
    /// LastModifiedDate (epoch).
    pub modified: i64,
}

impl SfRecord for UserRec {
    const OBJECT: &'static str = "User";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "Username",
        "LastName",
        "FirstName",
        "Name",
        "CompanyName",
        "Department",
        "Title",
        "Email",
        "Phone",
        "Extension",
        "Alias",
        "IsActive",
        "UserType",
        "ManagerId",
        "TimeZoneSidKey",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 1),
            "Username" => format!("{}.crm", self.email),
            "LastName" => self.last.clone(),
            "FirstName" => self.first.clone(),
            "Name" => format!("{} {}", self.first, self.last),
            "CompanyName" => "Contact Centre Iberia, S.L.".into(),
            "Department" => self.dept.clone(),
            "Title" => self.title.clone(),
            "Email" => self.email.clone(),
            "Extension" => self.ext.map(|e| e.to_string()).unwrap_or_default(),
            "Alias" => self.first.chars().take(4).collect(),
            "IsActive" => st.b(self.active).into(),
            "UserType" => "Standard".into(),
            "ManagerId" => st.opt_id(&self.manager, 2),
            "TimeZoneSidKey" => "Europe/Madrid".into(),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            _ => String::new(),
        }
    }
}

/// A version of an Account.
#[derive(Debug, Clone)]
pub struct AccountRec {
    /// Id.
    pub id: SfId,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Industry.
    pub industry: &'static str,
    /// BillingCity.
    pub city: &'static str,
    /// OwnerId.
    pub owner: SfId,
    /// Description.
    pub description: String,
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
    /// IsDeleted.
    pub deleted: bool,
}

impl SfRecord for AccountRec {
    const OBJECT: &'static str = "Account";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "IsDeleted",
        "MasterRecordId",
        "Name",
        "Type",
        "BillingStreet",
        "BillingCity",
        "BillingPostalCode",
        "BillingCountry",
        "Phone",
        "Website",
        "Industry",
        "Description",
        "OwnerId",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "AccountSource",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 3),
            "IsDeleted" => st.b(self.deleted).into(),
            "Name" => self.name.clone(),
            "Type" => "Customer".into(),
            "BillingStreet" => format!(
                "Calle Mayor, {}\nPiso {}",
                self.id.key() % 200,
                self.id.key() % 9
            ),
            "BillingCity" => self.city.into(),
            "BillingCountry" => "España".into(),
            "Phone" => self.phone.clone(),
            "Industry" => self.industry.into(),
            "Description" => self.description.clone(),
            "OwnerId" | "CreatedById" | "LastModifiedById" => st.id(&self.owner, 4),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            "AccountSource" => "Phone Inquiry".into(),
            _ => String::new(),
        }
    }
}

/// A version of a Lead.
#[derive(Debug, Clone)]
pub struct LeadRec {
    /// Id.
    pub id: SfId,
    /// FirstName.
    pub first: String,
    /// LastName.
    pub last: String,
    /// Company.
    pub company: String,
    /// Phone.
    pub phone: String,
    /// MobilePhone.
    pub mobile: String,
    /// Email.
    pub email: String,
    /// LeadSource.
    pub source: &'static str,
    /// Status.
    pub status: &'static str,
    /// OwnerId (a user or the lead queue `00G...`).
    pub owner: SfId,
    /// IsConverted.
    pub converted: bool,
    /// ConvertedDate.
    pub converted_date: Option<NaiveDate>,
    /// ConvertedAccountId.
    pub converted_account: Option<SfId>,
    /// ConvertedOpportunityId.
    pub converted_opportunity: Option<SfId>,
    /// Description.
    pub description: String,
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
    /// IsDeleted.
    pub deleted: bool,
}

impl SfRecord for LeadRec {
    const OBJECT: &'static str = "Lead";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "IsDeleted",
        "LastName",
        "FirstName",
        "Salutation",
        "Name",
        "Title",
        "Company",
        "City",
        "Country",
        "Phone",
        "MobilePhone",
        "Email",
        "Description",
        "LeadSource",
        "Status",
        "Rating",
        "OwnerId",
        "IsConverted",
        "ConvertedDate",
        "ConvertedAccountId",
        "ConvertedContactId",
        "ConvertedOpportunityId",
        "IsUnreadByOwner",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 5),
            "IsDeleted" => st.b(self.deleted).into(),
            "LastName" => self.last.clone(),
            "FirstName" => self.first.clone(),
            "Name" => format!("{} {}", self.first, self.last),
            "Company" => self.company.clone(),
            "Country" => "ES".into(),
            "Phone" => self.phone.clone(),
            "MobilePhone" => self.mobile.clone(),
            "Email" => self.email.clone(),
            "Description" => self.description.clone(),
            "LeadSource" => self.source.into(),
            "Status" => self.status.into(),
            "OwnerId" => st.id(&self.owner, 6),
            "IsConverted" => st.b(self.converted).into(),
            "ConvertedDate" => self.converted_date.map(date).unwrap_or_default(),
            "ConvertedAccountId" => st.opt_id(&self.converted_account, 7),
            "ConvertedOpportunityId" => st.opt_id(&self.converted_opportunity, 8),
            "IsUnreadByOwner" => st.b(false).into(),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            _ => String::new(),
        }
    }
}

/// A version of an Opportunity.
#[derive(Debug, Clone)]
pub struct OppRec {
    /// Id.
    pub id: SfId,
    /// AccountId.
    pub account: SfId,
    /// Name.
    pub name: String,
    /// StageName.
    pub stage: &'static str,
    /// Amount in cents.
    pub amount: Option<i64>,
    /// Probability (%).
    pub probability: u32,
    /// CloseDate.
    pub close: NaiveDate,
    /// IsClosed.
    pub closed: bool,
    /// IsWon.
    pub won: bool,
    /// LeadSource.
    pub source: &'static str,
    /// OwnerId.
    pub owner: SfId,
    /// Description.
    pub description: String,
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
    /// IsDeleted.
    pub deleted: bool,
}

impl SfRecord for OppRec {
    const OBJECT: &'static str = "Opportunity";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "IsDeleted",
        "AccountId",
        "Name",
        "Description",
        "StageName",
        "Amount",
        "Probability",
        "CloseDate",
        "Type",
        "NextStep",
        "LeadSource",
        "IsClosed",
        "IsWon",
        "ForecastCategory",
        "OwnerId",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "SystemModstamp",
        "FiscalQuarter",
        "FiscalYear",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 9),
            "IsDeleted" => st.b(self.deleted).into(),
            "AccountId" => st.id(&self.account, 10),
            "Name" => self.name.clone(),
            "Description" => self.description.clone(),
            "StageName" => self.stage.into(),
            "Amount" => self.amount.map(money).unwrap_or_default(),
            "Probability" => self.probability.to_string(),
            "CloseDate" => date(self.close),
            "Type" => "New Customer".into(),
            "LeadSource" => self.source.into(),
            "IsClosed" => st.b(self.closed).into(),
            "IsWon" => st.b(self.won).into(),
            "ForecastCategory" => String::from(if self.won {
                "Closed"
            } else if self.closed {
                "Omitted"
            } else {
                "Pipeline"
            }),
            "OwnerId" | "CreatedById" => st.id(&self.owner, 11),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            "FiscalQuarter" => ((chrono::Datelike::month(&self.close) - 1) / 3 + 1).to_string(),
            "FiscalYear" => chrono::Datelike::year(&self.close).to_string(),
            _ => String::new(),
        }
    }
}

/// A version of an Order.
#[derive(Debug, Clone)]
pub struct OrderRec {
    /// Id.
    pub id: SfId,
    /// OrderNumber (8 digits).
    pub number: u64,
    /// AccountId.
    pub account: SfId,
    /// OpportunityId (renewals have none).
    pub opportunity: Option<SfId>,
    /// OwnerId.
    pub owner: SfId,
    /// Status: Draft, Activated, Cancelled.
    pub status: &'static str,
    /// EffectiveDate.
    pub effective: NaiveDate,
    /// TotalAmount in cents.
    pub total: i64,
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
    /// IsDeleted.
    pub deleted: bool,
}

impl SfRecord for OrderRec {
    const OBJECT: &'static str = "Order";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "OwnerId",
        "ContractId",
        "AccountId",
        "Pricebook2Id",
        "OpportunityId",
        "EffectiveDate",
        "EndDate",
        "IsReductionOrder",
        "Status",
        "Description",
        "StatusCode",
        "OrderNumber",
        "TotalAmount",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "IsDeleted",
        "SystemModstamp",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 12),
            "OwnerId" | "CreatedById" | "LastModifiedById" => st.id(&self.owner, 13),
            "AccountId" => st.id(&self.account, 14),
            "OpportunityId" => st.opt_id(&self.opportunity, 15),
            "EffectiveDate" => date(self.effective),
            "IsReductionOrder" => st.b(false).into(),
            "Status" => self.status.into(),
            "StatusCode" => String::from(match self.status {
                "Activated" => "Activated",
                "Cancelled" => "Cancelled",
                _ => "Draft",
            }),
            "OrderNumber" => format!("{:08}", self.number),
            "TotalAmount" => money(self.total),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            "IsDeleted" => st.b(self.deleted).into(),
            _ => String::new(),
        }
    }
}

/// A version of a ForecastingQuota.
#[derive(Debug, Clone)]
pub struct QuotaRec {
    /// Id.
    pub id: SfId,
    /// QuotaOwnerId.
    pub owner: SfId,
    /// StartDate (first day of the month).
    pub start: NaiveDate,
    /// QuotaAmount in cents.
    pub amount: i64,
    /// CreatedDate.
    pub created: i64,
    /// LastModifiedDate.
    pub modified: i64,
}

impl SfRecord for QuotaRec {
    const OBJECT: &'static str = "ForecastingQuota";
    const COLUMNS: &'static [&'static str] = &[
        "Id",
        "QuotaOwnerId",
        "PeriodId",
        "StartDate",
        "QuotaAmount",
        "QuotaQuantity",
        "CurrencyIsoCode",
        "IsAmount",
        "IsQuantity",
        "ForecastingTypeId",
        "ProductFamily",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ];
    fn field(&self, col: &str, st: &Style) -> String {
        match col {
            "Id" => st.id(&self.id, 16),
            "QuotaOwnerId" => st.id(&self.owner, 17),
            "StartDate" => date(self.start),
            "QuotaAmount" => money(self.amount),
            "CurrencyIsoCode" => "EUR".into(),
            "IsAmount" => st.b(true).into(),
            "IsQuantity" => st.b(false).into(),
            "CreatedDate" => st.dt(self.created),
            "LastModifiedDate" | "SystemModstamp" => st.dt(self.modified),
            _ => String::new(),
        }
    }
}
