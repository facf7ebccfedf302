//! Linkerd identities as certificates carry them: DNS subject alternative names such as
//! `tap.linkerd-viz.serviceaccount.identity.linkerd.cluster.local`.
//!
//! Used on both ends of a direct proxy tap: the demo's simulated proxies authorize a caller by its
//! names, and `meshtap proxy` names what it presented when a proxy refuses it.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer as _, X509Certificate};

/// The identity a proxy admits on its tap port unless `LINKERD2_PROXY_TAP_SVC_NAME` says
/// otherwise: the linkerd-viz tap server's service account.
pub const DEFAULT_TAP_IDENTITY: &str =
    "tap.linkerd-viz.serviceaccount.identity.linkerd.cluster.local";

/// The DNS names of a DER certificate; empty when it has none or does not parse.
pub fn dns_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_string()),
            _ => None,
        })
        .collect()
}

/// The DNS names of the first certificate in a PEM file's contents.
pub fn pem_dns_names(pem: &[u8]) -> Vec<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    CertificateDer::pem_slice_iter(pem)
        .next()
        .and_then(Result::ok)
        .map(|der| dns_names(&der))
        .unwrap_or_default()
}
