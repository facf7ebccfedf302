//! Writing captured traffic out: Linkerd's text and JSON event formats, and meshtap's own NDJSON
//! of joined requests.

pub mod events;
pub mod file;
pub mod gojson;
pub mod har;
pub mod linkerd_json;
pub mod map;
pub mod ndjson;
pub mod otlp;
pub mod pcapng;
pub mod text;
