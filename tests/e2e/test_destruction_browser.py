"""In a real browser, both destruction paths: the archivist submits the nightly scan's proposal, the archive head
and the departments appraise, management approves, two supervisors confirm with their passwords and the register
prints; a department applies to destroy a duplicate, its head reviews, management approves, it is destroyed."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import or_, select

from engine.db import unit_of_work
from engine.models import WorkItem
from processes.destruction.demo import seed_destruction
from processes.destruction.models import Destruction, Hold
from processes.forms.models import Attachment, Form

from .helpers import SCREENSHOTS, shoot

pytestmark = pytest.mark.browser


def open_step(services, new_page, username: str, batch_id: int):
    """The approver opens the batch's open approval step from the inbox and sees the link to its list."""
    with services.sessions() as session:
        instance = session.scalar(select(Destruction.process_instance_id).where(Destruction.id == batch_id))
        item_id = session.scalar(select(WorkItem.id).where(WorkItem.instance_id == instance, WorkItem.status == "open",
                                                           WorkItem.kind == "task", or_(WorkItem.assignee == username,
                                                                                         WorkItem.assignee.is_(None))))
    page = new_page(username)
    page.goto(f"/tasks/{item_id}")
    expect(page.get_by_role("link", name=f"查看销毁清单 XH-{batch_id}")).to_be_visible()
    return page


def approve(page, comment: str):
    page.locator("textarea[name=comment]").fill(comment)
    page.get_by_role("button", name="批准").click()
    expect(page.locator(".flash")).to_contain_text("已批准")


def execute(page, batch_id: int, first: str, second: str, *, wrong: bool = False):
    page.goto(f"/destruction/{batch_id}")
    for n, volume in enumerate(page.locator("table.paper-input select").all()):  # each paper volume: method, place
        volume.select_option(["碎纸", "焚烧", "委托销毁"][n % 3])
        page.locator("table.paper-input input[name^=place-]").nth(n).fill("本公司一号档案室")
    page.locator("input[name=supervisor1]").fill(first)
    page.locator("input[name=password1]").fill("guichet-demo")
    page.locator("input[name=supervisor2]").fill(second)
    page.locator("input[name=password2]").fill("wrong" if wrong else "guichet-demo")
    page.get_by_role("button", name="确认销毁").click()


def test_retention_path_in_the_browser(new_page, live_server):
    services = live_server.services
    with unit_of_work(services.sessions) as session:
        seed_destruction(session, services.runtime, services.config)
    page = new_page("archivist")
    page.get_by_role("link", name="销毁管理").click()
    expect(page.locator("h1")).to_have_text("销毁管理")
    shoot(page, "destruction-01-index")
    page.get_by_role("link", name="XH-1").click()
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator(".flash")).to_contain_text("已提交审批")
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    count = page.locator("dd.count").inner_text()
    with services.sessions() as session:  # the archive head and each department appraise at the same time
        instance = session.scalar(select(Destruction.process_instance_id).where(Destruction.id == batch_id))
        assert sorted(session.scalars(select(WorkItem.assignee).where(
            WorkItem.instance_id == instance, WorkItem.status == "open", WorkItem.kind == "task"))) == [
            "archive_head", "head", "manager"]  # the demo's old forms are 营业部's and 信贷部's
    diagram = new_page("manager")  # the diagram: the appraisals side by side, one per department
    diagram.goto("/procedures/destruction_approval")
    expect(diagram.locator('#heat[data-ready="1"]')).to_be_attached()
    expect(diagram.locator('.heat-badge[data-step="appraise_department"]')).to_contain_text("等待 2")
    shoot(diagram, "destruction-00-diagram")
    approve(open_step(services, new_page, "archive_head", batch_id), "经鉴定已无保存价值, 同意销毁")
    credit = open_step(services, new_page, "head", batch_id)
    expect(credit.locator("h1")).to_contain_text("业务部门鉴定")
    shoot(credit, "destruction-01b-department-appraisal")
    approve(credit, "信贷部同意销毁")
    department = open_step(services, new_page, "manager", batch_id)
    expect(department.locator("h1")).to_contain_text("业务部门鉴定")
    approve(department, "业务部门同意")
    step = open_step(services, new_page, "manager", batch_id)
    expect(step.locator("h1")).to_contain_text("公司管理层批准")
    approve(step, "批准销毁")
    execute(page, batch_id, "inspector", "manager2", wrong=True)
    expect(page.locator("p.error")).to_contain_text("密码不正确")
    shoot(page, "destruction-02-wrong-password")
    shoot(page, "destruction-02b-execute-paper")
    execute(page, batch_id, "inspector", "manager2")
    expect(page.locator(".flash")).to_contain_text("已销毁")
    expect(page.locator("table.paper")).to_contain_text("本公司一号档案室")
    expect(page.get_by_role("link", name="下载销毁清册 (PDF)")).to_be_visible()
    expect(page.locator("dd.count")).to_have_text(count)
    shoot(page, "destruction-03-executed")
    with page.expect_download(timeout=60_000) as download:  # WeasyPrint is slow on a busy machine
        page.get_by_role("link", name="下载销毁清册 (PDF)").click(timeout=60_000)
    assert download.value.suggested_filename == f"destruction-register-{batch_id}.pdf"
    pdf = open(download.value.path(), "rb").read()
    (SCREENSHOTS / "destruction-register.pdf").write_bytes(pdf)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    codes = page.locator("table.items tbody td:first-child").all_inner_texts()
    assert codes and all(code in text for code in codes)
    with services.sessions() as session:
        destroyed = session.scalars(select(Form.id).where(Form.status == "destroyed")).first()
    step.goto(f"/forms/{destroyed}")  # management sees every form
    expect(step.locator("h1")).to_have_text("业务单已销毁")
    shoot(step, "destruction-04-tombstone")


def test_duplicate_path_in_the_browser(new_page, live_server):
    services = live_server.services
    with unit_of_work(services.sessions) as session:
        seed_destruction(session, services.runtime, services.config)
        held = select(Hold.form_id).where(Hold.form_id.is_not(None))
        duplicate, original = session.scalars(select(Form).where(Form.status == "closed", Form.id.not_in(held))
                                              .order_by(Form.id).limit(2)).all()
        evidence = Attachment(form_id=original.id, field_code="proof", filename_sealed="原单.pdf", content_type="application/pdf",
                              size=1, sealed=b"x", uploaded_by="clerk", uploaded_at=datetime.now(timezone.utc))
        session.add(evidence)
        session.flush()
        number, evidence_id = duplicate.number, evidence.id
    page = new_page("clerk")
    page.get_by_role("link", name="销毁管理").click()
    page.locator("select[name=kind]").select_option("duplicate")
    page.locator("input[name=numbers]").fill(number)
    page.locator("input[name=evidence]").fill(str(evidence_id))
    page.locator("textarea[name=reason]").fill("同一业务重复录入, 原单见附件")
    shoot(page, "destruction-05-apply")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator(".flash")).to_contain_text("已提交销毁申请")
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    review = open_step(services, new_page, "manager", batch_id)  # 营业部's head
    expect(review.locator("h1")).to_contain_text("部门负责人审核")
    approve(review, "确属重复")
    approve(open_step(services, new_page, "manager2", batch_id), "批准")
    archivist = new_page("archivist")
    execute(archivist, batch_id, "inspector", "archive_head")
    expect(archivist.locator(".flash")).to_contain_text("已销毁")
    shoot(archivist, "destruction-06-duplicate-executed")
    with services.sessions() as session:
        assert session.get(Form, duplicate.id).status == "destroyed"
