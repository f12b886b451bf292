//! `sandbox`: serve the fake providers (DigitalOcean, Dyn, Chef Server, nagios-api) on
//! loopback until Ctrl-C, and write the environment that points the other binaries at them —
//! so several runs (e.g. an interrupted `provision` and its `--resume`) share one world.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use ops_examples::cli::{CliError, Secrets, finish};
use ops_examples::formats;
use ops_examples::sandbox::providers::{DO_TOKEN, Fakes};

/// Serve the fake providers and write `KEY=VALUE` lines for the other binaries.
#[derive(Debug, Parser)]
#[command(name = "sandbox", version, after_long_help = formats::help(
    "Exit codes: 0 stopped with Ctrl-C; 1 the fakes could not start or a file could not be \
     written; 2 bad flags.",
    None,
))]
struct Cli {
    /// Where to write the environment (`KEY=VALUE` per line; `set -a; . FILE` in a shell).
    #[arg(long, value_name = "FILE")]
    env_file: PathBuf,
    /// A directory for the Chef credentials file (it becomes `HOME` in the env file).
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Write every request the fakes have served to FILE (one JSON object per line after a
    /// `# dump N` line) on SIGUSR1 and when stopping: what a run really sent, e.g. to check
    /// that a `--dry-run` wrote nothing.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// How long droplets take to boot, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    boot_ms: u64,
    /// Debug logging.
    #[arg(short, long)]
    verbose: bool,
    /// Only warnings and the error line on stderr (for cron): nothing when all is well.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
}

async fn run(cli: Cli) -> Result<(), CliError> {
    // Installed first: a Ctrl-C once the env file exists always stops the server cleanly.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let fakes = Fakes::start(Duration::from_millis(cli.boot_ms)).await?;
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| CliError::other(format!("cannot write {what}")).with_source(e)
    };
    std::fs::create_dir_all(cli.home.join(".chef")).map_err(io("the Chef directory"))?;
    let home = std::fs::canonicalize(&cli.home).map_err(io("the home directory"))?;
    let chef_dir = home.join(".chef");
    let key_path = chef_dir.join("sandbox-admin.pem");
    std::fs::write(
        &key_path,
        secrecy::ExposeSecret::expose_secret(&fakes.chef.admin_key()),
    )
    .map_err(io("the Chef key"))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))
            .map_err(io("the Chef key permissions"))?;
    }
    std::fs::write(
        chef_dir.join("credentials"),
        format!(
            "[sandbox]\nclient_name = \"{}\"\nclient_key = \"{}\"\nchef_server_url = \"{}\"\n",
            chef_client::testkit::ADMIN,
            key_path.display(),
            fakes.chef.url()
        ),
    )
    .map_err(io("the Chef credentials"))?;
    let env = [
        ("HOME", home.display().to_string()),
        ("DIGITALOCEAN_TOKEN", DO_TOKEN.to_owned()),
        (
            "DIGITALOCEAN_API_URL",
            format!("http://{}/", fakes.digitalocean.addr()),
        ),
        (
            "DYN_CUSTOMER_NAME",
            dynect_client::testkit::FakeDyn::CUSTOMER.to_owned(),
        ),
        (
            "DYN_USER_NAME",
            dynect_client::testkit::FakeDyn::USER.to_owned(),
        ),
        (
            "DYN_PASSWORD",
            dynect_client::testkit::FakeDyn::PASSWORD.to_owned(),
        ),
        ("DYN_API_URL", fakes.dyn_dns.uri()),
        ("CHEF_PROFILE", "sandbox".to_owned()),
        ("NAGIOS_API_URL", fakes.nagios.uri()),
    ];
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    write_private(&cli.env_file, &text).map_err(io("the env file"))?;
    ops_examples::emit(format!(
        "sandbox ready: environment in {} (Ctrl-C to stop)",
        cli.env_file.display()
    ));
    let mut usr1 =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).ok();
    let mut dumps = 0u64;
    loop {
        tokio::select! {
            () = async {
                match sigint.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            } => break,
            Some(()) = async {
                match usr1.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(path) = &cli.request_log {
                    dumps += 1;
                    dump_requests(&fakes, path, dumps).map_err(io("the request log"))?;
                }
            }
        }
    }
    if let Some(path) = &cli.request_log {
        dump_requests(&fakes, path, dumps + 1).map_err(io("the request log"))?;
    }
    Ok(())
}

/// Every request the four fakes served, as `{"provider", "method", "path"}` lines after a
/// `# dump N` line, written atomically (a reader never sees half a dump).
fn dump_requests(fakes: &Fakes, path: &std::path::Path, n: u64) -> std::io::Result<()> {
    let line = |provider: &str, method: &str, path: &str| {
        serde_json::json!({"provider": provider, "method": method, "path": path}).to_string()
    };
    let mut out = vec![format!("# dump {n}")];
    out.extend(
        fakes
            .digitalocean
            .requests()
            .iter()
            .map(|r| line("digitalocean", &r.method, &r.path)),
    );
    out.extend(
        fakes
            .dyn_dns
            .requests()
            .iter()
            .map(|r| line("dyn", &r.method, &r.path)),
    );
    out.extend(
        fakes
            .chef
            .requests()
            .iter()
            .map(|r| line("chef", &r.method, &r.path)),
    );
    out.extend(
        fakes
            .nagios
            .requests()
            .iter()
            .map(|r| line("nagios", &r.method, &r.path)),
    );
    write_private(path, &(out.join("\n") + "\n"))
}

/// Writes `text` to `path` atomically and readable by its owner only (it holds passwords):
/// through a 0600 temporary file beside it that is removed whatever fails (issue #17: a
/// failed rename left `<env-file>.tmp` behind, world-readable).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sandbox-env-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ops_examples::logging::init(cli.verbose, cli.quiet);
    let result = run(cli).await;
    finish(result, &Secrets::new())
}
