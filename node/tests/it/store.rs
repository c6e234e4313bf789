//! Storage: one suite run against every `KvStore`, versioned records, accounts, and a
//! real crash (abort without flush) that must lose nothing.

use std::io::Write;
use std::sync::Arc;

use raremesh::accounts::{AccountError, Accounts, Role};
use raremesh::store::{
    Batch, KvStore, MemoryStore, Record, RecordError, SledStore, Tree, decode, encode,
};
use serde::{Deserialize, Serialize};

fn suite(kv: Arc<dyn KvStore>) {
    let t = Tree::Accounts;
    assert_eq!(kv.get(t, b"a").expect("get"), None);
    kv.put(t, b"a", b"1").expect("put");
    kv.put(t, b"ab", b"2").expect("put");
    kv.put(t, b"b", b"3").expect("put");
    kv.put(Tree::AccountsByEmail, b"a", b"other tree")
        .expect("put");
    assert_eq!(kv.get(t, b"a").expect("get").as_deref(), Some(&b"1"[..]));
    let scanned = kv.scan_prefix(t, b"a").expect("scan");
    assert_eq!(
        scanned,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"ab".to_vec(), b"2".to_vec())
        ]
    );
    assert!(kv.compare_and_swap(t, b"c", None, Some(b"4")).expect("cas"));
    assert!(
        !kv.compare_and_swap(t, b"c", None, Some(b"5")).expect("cas"),
        "already there"
    );
    assert!(
        !kv.compare_and_swap(t, b"c", Some(b"x"), Some(b"5"))
            .expect("cas"),
        "wrong old value"
    );
    assert!(
        kv.compare_and_swap(t, b"c", Some(b"4"), None).expect("cas"),
        "delete by cas"
    );
    assert_eq!(kv.get(t, b"c").expect("get"), None);
    assert!(kv.remove(t, b"a").expect("remove"));
    assert!(!kv.remove(t, b"a").expect("remove"));
    assert_eq!(
        kv.get(Tree::AccountsByEmail, b"a").expect("get").as_deref(),
        Some(&b"other tree"[..])
    );
    // Several writes across trees land together; the later write to a key wins.
    let mut batch = Batch::new();
    batch.put_raw(t, "x", "1");
    batch.put_raw(Tree::AccountsByEmail, "y", "2");
    batch.remove(t, "b");
    batch.put_raw(t, "x", "3");
    kv.apply(&batch).expect("apply");
    assert_eq!(kv.get(t, b"x").expect("get").as_deref(), Some(&b"3"[..]));
    assert_eq!(
        kv.get(Tree::AccountsByEmail, b"y").expect("get").as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(kv.get(t, b"b").expect("get"), None);
    kv.apply(&Batch::new()).expect("an empty batch");
    // Accounts over this store.
    let accounts = Accounts::new(kv.clone());
    let a = accounts
        .create(
            " Carer@Example.ORG ",
            "a long enough password",
            Role::Member,
            false,
        )
        .expect("create");
    assert_eq!(a.email, "carer@example.org");
    assert!(matches!(
        accounts.create(
            "carer@example.org",
            "another long password",
            Role::Member,
            false
        ),
        Err(AccountError::EmailTaken)
    ));
    assert!(matches!(
        accounts.create(
            "not-an-email",
            "a long enough password",
            Role::Member,
            false
        ),
        Err(AccountError::InvalidEmail(_))
    ));
    assert!(matches!(
        accounts.create("x@example.org", "short", Role::Member, false),
        Err(AccountError::WeakPassword(_))
    ));
    assert_eq!(
        accounts.by_email("CARER@example.org").expect("lookup"),
        Some(a.clone())
    );
    assert_eq!(
        accounts
            .sign_in("carer@example.org", "a long enough password")
            .expect("sign in"),
        Some(a.clone())
    );
    assert_eq!(
        accounts
            .sign_in("carer@example.org", "a wrong password!!")
            .expect("sign in"),
        None
    );
    assert_eq!(
        accounts
            .sign_in("nobody@example.org", "a long enough password")
            .expect("sign in"),
        None
    );
}

#[test]
fn the_suite_passes_in_memory() {
    suite(Arc::new(MemoryStore::new()));
}

#[test]
fn the_suite_passes_on_sled_and_data_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    suite(Arc::new(SledStore::open(&db).expect("open")));
    let again = Accounts::new(Arc::new(SledStore::open(&db).expect("reopen")));
    assert!(
        again
            .by_email("carer@example.org")
            .expect("lookup")
            .is_some()
    );
}

/// Child half of the crash test: writes, reports, then aborts (no destructors, no flush).
#[test]
fn crash_writer() {
    let Ok(dir) = std::env::var("RAREMESH_TEST_CRASH_DB") else {
        return; // only does something when the crash test runs it
    };
    let store = SledStore::open(std::path::Path::new(&dir)).expect("open");
    for i in 0..50u32 {
        store
            .put(
                Tree::Accounts,
                format!("k{i:03}").as_bytes(),
                &i.to_le_bytes(),
            )
            .expect("put");
    }
    println!("WROTE");
    std::process::abort();
}

#[test]
fn writes_survive_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "store::crash_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RAREMESH_TEST_CRASH_DB", &db)
        .output()
        .expect("run the writer");
    assert!(!out.status.success(), "the writer must die by abort");
    assert!(String::from_utf8_lossy(&out.stdout).contains("WROTE"));
    let store = SledStore::open(&db).expect("reopen after the crash");
    let all = store.scan_prefix(Tree::Accounts, b"k").expect("scan");
    assert_eq!(all.len(), 50, "every acknowledged write is on disk");
}

/// Every regular file under `dir` in which `needle` occurs.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> usize {
    let mut found = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .expect("dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(b) = std::fs::read(&p) {
            found += usize::from(b.windows(needle.len()).any(|w| w == needle));
        }
    }
    found
}

#[test]
fn forgetting_removed_values_keeps_every_live_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let store = Arc::new(SledStore::open(&db).expect("open"));
    for i in 0..300u32 {
        let tree = if i % 2 == 0 {
            Tree::Members
        } else {
            Tree::Questions
        };
        store
            .put(
                tree,
                format!("k{i:03}").as_bytes(),
                format!("value {i}").as_bytes(),
            )
            .expect("put");
    }
    store
        .put(
            Tree::Members,
            b"gone",
            b"a secret only sled's log still holds",
        )
        .expect("put");
    store
        .put(Tree::Members, b"changed", b"an old name nobody should read")
        .expect("put");
    store
        .put(Tree::Members, b"changed", b"the new name")
        .expect("put");
    store.remove(Tree::Members, b"gone").expect("remove");
    assert_eq!(
        files_holding(&db, b"a secret only sled's log"),
        1,
        "sled keeps it"
    );
    // Writers keep writing while the database is rewritten; none is lost.
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200u32 {
                store
                    .put(Tree::Answers, format!("w{i:03}").as_bytes(), b"during")
                    .expect("put during the rewrite");
            }
        })
    };
    store.forget_removed().expect("rewrite");
    writer.join().expect("writer");
    assert_eq!(files_holding(dir.path(), b"a secret only sled's log"), 0);
    assert_eq!(files_holding(dir.path(), b"an old name nobody"), 0);
    let check = |store: &SledStore| {
        assert_eq!(
            store.scan_prefix(Tree::Members, b"k").expect("scan").len(),
            150
        );
        assert_eq!(
            store
                .scan_prefix(Tree::Questions, b"k")
                .expect("scan")
                .len(),
            150
        );
        assert_eq!(
            store.scan_prefix(Tree::Answers, b"w").expect("scan").len(),
            200
        );
        assert_eq!(
            store
                .get(Tree::Members, b"changed")
                .expect("get")
                .as_deref(),
            Some(&b"the new name"[..])
        );
        assert_eq!(store.get(Tree::Members, b"gone").expect("get"), None);
    };
    check(&store);
    drop(store);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["db"], "no copy is left beside it");
    check(&SledStore::open(&db).expect("reopen"));
}

/// Child half of the next test: writes and rewrites at once, reports each acknowledged
/// write, and aborts after `RAREMESH_TEST_CRASH_AFTER` of them.
#[test]
fn rewrite_crash_writer() {
    let Ok(dir) = std::env::var("RAREMESH_TEST_CRASH_DB") else {
        return; // only does something when the crash test runs it
    };
    let after: u32 = std::env::var("RAREMESH_TEST_CRASH_AFTER")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let store = Arc::new(SledStore::open(std::path::Path::new(&dir)).expect("open"));
    let rewriter = store.clone();
    std::thread::spawn(move || {
        loop {
            rewriter.forget_removed().expect("rewrite");
        }
    });
    let mut out = std::io::stdout();
    for i in 0.. {
        store
            .put(Tree::Accounts, format!("k{i:05}").as_bytes(), b"v")
            .expect("put");
        writeln!(out, "WROTE {i}")
            .and_then(|()| out.flush())
            .expect("print");
        if i == after {
            std::process::abort();
        }
    }
}

#[test]
fn a_crash_during_a_rewrite_loses_nothing() {
    for (run, after) in [7, 23, 61, 90, 140].into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        // Some data from before, then a child that crashes while rewriting.
        SledStore::open(&db)
            .expect("open")
            .put(Tree::Members, b"before", b"kept")
            .expect("put");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "store::rewrite_crash_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RAREMESH_TEST_CRASH_DB", &db)
            .env("RAREMESH_TEST_CRASH_AFTER", after.to_string())
            .output()
            .expect("run the writer");
        assert!(
            !out.status.success(),
            "run {run}: the writer must die by abort"
        );
        let acknowledged = String::from_utf8_lossy(&out.stdout)
            .matches("WROTE ")
            .count();
        assert_eq!(acknowledged, after + 1, "run {run}");
        let store = SledStore::open(&db).expect("reopen after the crash");
        let all = store.scan_prefix(Tree::Accounts, b"k").expect("scan");
        assert!(
            all.len() >= acknowledged,
            "run {run}: {} of {acknowledged}",
            all.len()
        );
        assert!(store.get(Tree::Members, b"before").expect("get").is_some());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["db"], "run {run}: the swap was finished or undone");
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Note {
    text: String,
    stars: u8,
}

impl Record for Note {
    const TREE: Tree = Tree::Accounts;
    const VERSION: u32 = 2;
    fn upgrade(version: u32, value: serde_json::Value) -> Result<Self, RecordError> {
        // Version 1 had no stars.
        match (version, value.get("text").and_then(|t| t.as_str())) {
            (1, Some(text)) => Ok(Self {
                text: text.to_owned(),
                stars: 0,
            }),
            _ => Err(RecordError::UnknownVersion {
                tree: "accounts",
                version,
            }),
        }
    }
}

#[test]
fn records_are_versioned_and_upgraded() {
    let n = Note {
        text: "hi".into(),
        stars: 3,
    };
    assert_eq!(decode::<Note>(&encode(&n)).expect("round trip"), n);
    // What an older node wrote is still read.
    assert_eq!(
        decode::<Note>(br#"{"v":1,"r":{"text":"old"}}"#).expect("upgrade"),
        Note {
            text: "old".into(),
            stars: 0
        }
    );
    // What a newer node wrote, or garbage, is a clear error.
    assert!(
        decode::<Note>(br#"{"v":3,"r":{}}"#).is_err_and(|e| e.to_string().contains("version 3"))
    );
    assert!(decode::<Note>(b"garbage").is_err_and(|e| e.to_string().contains("not a record")));
    // The stored form of an account as version 1 wrote it keeps opening.
    let stored = br#"{"v":1,"r":{"id":"00ff","email":"a@example.org","password_hash":"$argon2id$x","role":"validator","created_at":1764000000,"email_confirmed":true}}"#;
    let a: raremesh::accounts::Account = decode(stored).expect("account v1");
    assert_eq!(
        (a.role, a.email.as_str()),
        (Role::Validator, "a@example.org")
    );
}

#[test]
fn admin_create_user_through_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_raremesh"))
            .args(args)
            .env_remove("RAREMESH_CONFIG")
            .env("RAREMESH_DATA_DIR", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(
        &[
            "admin",
            "create-user",
            "--email",
            "Admin@Example.org",
            "--role",
            "admin",
        ],
        "",
    );
    assert!(ok, "{err}");
    let generated = out
        .lines()
        .find_map(|l| l.split("): ").nth(1))
        .expect("generated password")
        .trim()
        .to_owned();
    let (ok, _, err) = run(
        &["admin", "create-user", "--email", "admin@example.org"],
        "",
    );
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = run(
        &[
            "admin",
            "create-user",
            "--email",
            "v@example.org",
            "--role",
            "boss",
        ],
        "",
    );
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, out, err) = run(
        &[
            "admin",
            "create-user",
            "--email",
            "v@example.org",
            "--role",
            "validator",
            "--password-stdin",
        ],
        "validate all the things\n",
    );
    assert!(ok && !out.contains("validate all the things"), "{out}{err}");
    let accounts = Accounts::new(Arc::new(
        SledStore::open(&dir.path().join("db")).expect("open"),
    ));
    assert_eq!(
        accounts
            .sign_in("admin@example.org", &generated)
            .expect("sign in")
            .map(|a| a.role),
        Some(Role::Admin)
    );
    assert_eq!(
        accounts
            .sign_in("v@example.org", "validate all the things")
            .expect("sign in")
            .map(|a| a.role),
        Some(Role::Validator)
    );
}
