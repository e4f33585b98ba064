//! Writing Salesforce extracts: one CSV per object per landing date,
//! `crm/<Object>/dt=D/<Object>_D.csv`, header of API names. Per file the generator picks a
//! [`Style`] (hazards: UTF-8 BOM or not, CRLF or LF, `.000Z` or `.000+0000` datetimes, four
//! boolean spellings, reversed column order, some Ids in 15-character form). Quoting (commas,
//! quotes and newlines in Description and BillingStreet) is done by the `csv` writer. Days with
//! no change still get a header-only file, as a nightly export job writes.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::Rng;

use super::crm_records::{SfRecord, Style};
use super::rng::SimRng;
use super::sink::join;

/// Draws the style of one file.
pub fn style(rng: &mut SimRng) -> Style {
    Style {
        bom: rng.random_bool(0.5),
        zulu: rng.random_bool(0.5),
        bools: rng.random_range(0..4u8),
        crlf: rng.random_bool(0.3),
        reversed: rng.random_bool(0.15),
        salt: rng.random::<u64>(),
    }
}

/// The CSV bytes of `rows` in `st`.
pub fn render<T: SfRecord>(rows: &[T], st: &Style) -> crate::Result<Vec<u8>> {
    let mut cols: Vec<&str> = T::COLUMNS.to_vec();
    if st.reversed {
        cols.reverse();
    }
    let mut out = Vec::with_capacity(256 + rows.len() * 256);
    if st.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let term = if st.crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut w = csv::WriterBuilder::new().terminator(term).from_writer(out);
    w.write_record(&cols)?;
    for r in rows {
        w.write_record(cols.iter().map(|c| r.field(c, st)))?;
    }
    w.into_inner()
        .map_err(|e| crate::Error::Io(std::io::Error::other(e.error().to_string())))
}

/// Writes `rows` as the `T::OBJECT` extract of landing date `dt` (`YYYY-MM-DD`); returns the
/// file size.
pub async fn write_object<T: SfRecord>(
    store: &Arc<dyn ObjectStore>,
    root: &Path,
    dt: &str,
    rows: &[T],
    st: &Style,
) -> crate::Result<u64> {
    let bytes = render(rows, st)?;
    let len = bytes.len() as u64;
    let name = format!("{}_{dt}.csv", T::OBJECT);
    let part = format!("dt={dt}");
    let path = join(root, &["crm", T::OBJECT, &part, &name]);
    store.put(&path, PutPayload::from(bytes)).await?;
    Ok(len)
}
