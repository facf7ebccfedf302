//! Throwaway certificates for the simulated control plane.
//!
//! Every start makes a fresh CA and a server certificate signed by it, so nothing secret ever
//! lives on disk and no two runs trust each other. The CA PEM goes into the generated
//! kubeconfig (`certificate-authority-data`), exactly as a real cluster's CA would.
//!
//! The leaf is `CA:FALSE` with IP SANs for both loopback addresses: rustls/webpki rejects a
//! CA certificate used as an end-entity certificate, and Go and rustls both verify an IP URL
//! against IP SANs only (never the common name).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// ALPN protocols offered to clients: Go (kubectl) negotiates `h2`, kube-rs speaks HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The ring crypto provider, named explicitly.
///
/// Several crates in the tree can enable both ring and aws-lc-rs; rustls then refuses to pick
/// a process default and panics. Passing the provider to every builder sidesteps that.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and its private key, both PEM and DER.
#[derive(Debug)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivatePkcs8KeyDer<'static>,
}

/// A certificate authority created for one server run.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl std::fmt::Debug for Ca {
    // The issuer holds the private key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    /// Makes a new self-signed CA that may sign end-entity certificates only (path length 0).
    pub fn generate() -> anyhow::Result<Self> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name("meshtap demo CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params);
        let key = KeyPair::generate().context("generating the CA key")?;
        let cert = params.self_signed(&key).context("self-signing the CA")?;
        Ok(Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM encoded (what a kubeconfig's `certificate-authority-data` holds
    /// after base64).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn server_cert(&self) -> anyhow::Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name("meshtap-demo-apiserver");
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().context("DNS SAN")?),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate with the given common name, for mutual-TLS clients (for example a
    /// fake proxy tap port that checks its caller's identity).
    pub fn client_cert(&self, common_name: &str) -> anyhow::Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        // Linkerd identities are DNS-like names carried as a DNS SAN.
        if let Ok(dns) = common_name.to_owned().try_into() {
            params.subject_alt_names = vec![SanType::DnsName(dns)];
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    /// A simulated proxy's certificate: its workload identity as the DNS SAN (as Linkerd's
    /// identity issuer makes it) plus the loopback IPs, so a client that dials `127.0.0.1`
    /// without `--server-name` can verify it too.
    pub fn identity_cert(&self, identity: &str) -> anyhow::Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(identity);
        params.subject_alt_names = vec![
            SanType::DnsName(identity.to_owned().try_into().context("identity DNS SAN")?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.issue(params)
    }

    fn issue(&self, mut params: CertificateParams) -> anyhow::Result<IssuedCert> {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params);
        let key = KeyPair::generate().context("generating a leaf key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("signing a leaf certificate")?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// Everything the HTTPS listener needs.
#[derive(Debug)]
pub struct ServerTls {
    pub ca: Ca,
    pub config: Arc<ServerConfig>,
}

/// Makes a fresh CA, a server certificate signed by it, and a rustls server config offering
/// ALPN `h2` and `http/1.1`.
pub fn generate() -> anyhow::Result<ServerTls> {
    let ca = Ca::generate()?;
    let leaf = ca.server_cert()?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert_der], PrivateKeyDer::Pkcs8(leaf.key_der))
        .context("building the TLS server config")?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(ServerTls {
        ca,
        config: Arc::new(config),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A fixed, generous window: the certificates die with the process anyway, and fixed dates
/// avoid a clock dependency while tolerating any realistic clock skew.
fn set_validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
}
