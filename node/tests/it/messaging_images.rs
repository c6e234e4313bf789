//! Photos in messages: off by default (refused, nothing kept); when the organization turns
//! them on, images only (recognized from their content), up to the size set, kept
//! encrypted, shown to the two members only (and to validators when reported), and gone
//! with the member who sent them.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use raremesh::accounts::Role;
use raremesh::ids::AccountId;
use raremesh::registration::patient::Patient;

use crate::validation::{CSRF, Node};

/// A small PNG (its signature and a marker no encrypted file contains).
fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\nraremesh-image-marker".to_vec();
    b.resize(len.max(b.len()), 7);
    b
}

fn member(node: &Node, email: &str) -> (AccountId, String, Patient) {
    crate::messaging::member(node, email, true)
}

/// Anna and Bruno in touch (through the service): the conversation's id.
async fn in_touch(node: &Node, a: &AccountId, pa: &Patient, b: &AccountId, pb: &Patient) -> String {
    let s = &node.state;
    let am = s.registrations.member(a).expect("m").expect("m");
    let bm = s.registrations.member(b).expect("m").expect("m");
    let r = s
        .messages
        .ask(&am, &pa.id, &raremesh::messages::handle(pb.id.as_str()))
        .await
        .expect("ask");
    s.messages
        .answer(&bm, &r.id, true)
        .await
        .expect("accept")
        .conversation
        .expect("conversation")
}

async fn send_image(
    node: &Node,
    id: &str,
    session: &str,
    text: &str,
    image: &[u8],
) -> (StatusCode, String) {
    let boundary = "imageboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{CSRF}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{text}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(image);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (s, b, _) = node
        .send(
            Request::post(format!("/messages/{id}/image"))
                .header(
                    header::COOKIE,
                    format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
                )
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("req"),
        )
        .await;
    (s, String::from_utf8_lossy(&b).into_owned())
}

async fn get_image(
    node: &Node,
    path: &str,
    session: &str,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    node.send(
        Request::get(path)
            .header(
                header::COOKIE,
                format!("raremesh_csrf={CSRF}; raremesh_session={session}"),
            )
            .body(Body::empty())
            .expect("req"),
    )
    .await
}

#[tokio::test]
async fn photos_are_off_unless_the_organization_allows_them() {
    let node = Node::new(|_| {});
    let (a, sa, pa) = member(&node, "anna.off@example.org");
    let (b, _, pb) = member(&node, "bruno.off@example.org");
    let id = in_touch(&node, &a, &pa, &b, &pb).await;
    let (_, page) = node.get(&format!("/messages/{id}"), &sa).await;
    assert!(!page.contains("type=\"file\""), "no file field: {page}");
    let (status, page) = send_image(&node, &id, &sa, "With a photo", &png(200)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("does not accept photos"), "{page}");
    let shown = node.state.messages.show(a.as_str(), &id).expect("show");
    assert!(shown.messages.is_empty(), "nothing kept");
}

#[tokio::test]
async fn photos_when_allowed_are_images_only_small_private_and_erased() {
    let node = Node::new(|c| {
        c.messages.attachments = true;
        c.messages.max_image_bytes = 4096;
    });
    let (a, sa, pa) = member(&node, "anna.img@example.org");
    let (b, sb, pb) = member(&node, "bruno.img@example.org");
    let (_, s_other, _) = member(&node, "carla.img@example.org");
    let id = in_touch(&node, &a, &pa, &b, &pb).await;
    let (_, page) = node.get(&format!("/messages/{id}"), &sa).await;
    assert!(
        page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"image\""),
        "{page}"
    );

    // A PDF, an empty file and a photo over the limit: refused, nothing kept.
    let (status, page) = send_image(&node, &id, &sa, "A document", b"%PDF-1.4 not a photo").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("not a photo"), "{page}");
    let (status, page) = send_image(&node, &id, &sa, "Too big", &png(5000)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{page}");
    assert!(page.contains("at most 4 KB"), "{page}");
    let shown = node.state.messages.show(a.as_str(), &id).expect("show");
    assert!(shown.messages.is_empty(), "nothing kept");

    // A photo with a few words: both members see it; nobody else.
    let photo = png(1000);
    let (status, _) = send_image(&node, &id, &sa, "Our garden", &photo).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = node.get(&format!("/messages/{id}"), &sb).await;
    let src = format!("/messages/{id}/image/1");
    assert!(page.contains(&src) && page.contains("Our garden"), "{page}");
    for session in [&sa, &sb] {
        let (status, bytes, headers) = get_image(&node, &src, session).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, photo);
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    }
    let (status, _, _) = get_image(&node, &src, &s_other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another member");
    let (status, _, headers) = get_image(&node, &src, "nosession").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
    assert!(
        headers[header::LOCATION]
            .to_str()
            .expect("l")
            .starts_with("/signin")
    );
    // Kept encrypted: no file of the data folder holds the photo.
    let data = node.state.config.data_dir.clone();
    for f in walk(&data) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let marker = b"raremesh-image-marker";
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{} holds the photo in clear",
            f.display()
        );
    }

    // Bruno reports it: the validators see the photo.
    let report = node
        .state
        .messages
        .report(&b, &id, 1, "Not a garden")
        .expect("report");
    let (_, validator) = node.account("validator.img@example.org", Role::Validator, false);
    let (_, page) = node.get("/validation/reports", &validator).await;
    let reported = format!("/validation/reports/{}/image", report.id);
    assert!(page.contains(&reported), "{page}");
    let (status, bytes, _) = get_image(&node, &reported, &validator).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, photo);
    let (status, _, _) = get_image(&node, &reported, &sb).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members do not read reports");

    // Anna deletes her account: her photo's file goes with her message.
    let image_id = node
        .state
        .messages
        .open_reports()
        .expect("reports")
        .into_iter()
        .find(|r| r.id == report.id)
        .and_then(|r| r.image)
        .expect("image")
        .id;
    assert!(node.state.documents.vault().exists(&image_id));
    let account = node.state.accounts.get(&a).expect("a").expect("a");
    raremesh::erasure::erase_account(&node.state, &account).expect("erase");
    assert!(
        !node.state.documents.vault().exists(&image_id),
        "the file is gone"
    );
    let (status, _, _) = get_image(&node, &src, &sb).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                todo.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            out.push(p);
        }
    }
    out
}
