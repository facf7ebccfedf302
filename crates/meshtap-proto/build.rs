//! Compiles the Linkerd viz protobufs in the repository's `proto/` with protox, so no system
//! `protoc` is needed: the tap API messages, and the metrics API (`linkerd2.viz.Api`) with its
//! gRPC client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const DIR: &str = "../../proto";
    let files = ["viz.proto", "viz_api.proto", "tap.proto"].map(|file| format!("{DIR}/{file}"));
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed={DIR}/net.proto");
    let descriptors = protox::compile(&files, [DIR])?;
    // One pass for every file: `viz.proto` and `viz_api.proto` share the package `linkerd2.viz`
    // and so the generated `linkerd2.viz.rs`, which a second pass would overwrite. Only
    // `viz_api.proto` declares a service, so the client/server switches affect nothing else.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
