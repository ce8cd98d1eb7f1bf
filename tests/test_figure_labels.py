"""A figure is shown as the clause that states it: cut at clause boundaries, never mid-phrase, with its
unit as written, its subject, its period, and whether it is a goal or a threshold."""

from __future__ import annotations

import pytest

from pipelines.facts import article_facts
from pipelines.figures import extract_figures


def label_of(text: str, raw: str) -> dict:
    return next(f for f in extract_figures(text) if f["raw"] == raw)


@pytest.mark.parametrize("text, raw, label", [
    # the unit as written, and the clause before a change
    ("Tốc độ tải xuống trung bình trên mạng di động đạt 142 Mbit/s, gấp 3 lần so với đầu năm.", "142",
     "Tốc độ tải xuống trung bình trên mạng di động đạt 142 Mbit/s"),
    ("Tốc độ tải xuống trung bình trên mạng di động đạt 142 Mbit/s, gấp 3 lần so với đầu năm.", "3",
     "Tốc độ tải xuống trung bình trên mạng di động đạt 142 Mbit/s, gấp 3 lần so với đầu năm"),
    # never "1.368 — bộ dữ liệu thuộc" or "64% — lĩnh vực"
    ("Cổng dữ liệu mở của thành phố hiện cung cấp 1.368 bộ dữ liệu thuộc 18 lĩnh vực, trong đó 64% được cập nhật "
     "hằng tháng.", "1.368", "Cổng dữ liệu mở của thành phố hiện cung cấp 1.368 bộ dữ liệu thuộc 18 lĩnh vực"),
    ("Cổng dữ liệu mở của thành phố hiện cung cấp 1.368 bộ dữ liệu thuộc 18 lĩnh vực, trong đó 64% được cập nhật "
     "hằng tháng.", "64%", "Cổng dữ liệu mở của thành phố hiện cung cấp 1.368 bộ dữ liệu thuộc 18 lĩnh vực, "
     "trong đó 64% được cập nhật hằng tháng"),
    # "; còn 27 hệ thống thông tin chưa ..." is a clause of its own, whole
    ("Trong năm, hệ thống giám sát đã ngăn chặn 1.245 cuộc tấn công mạng; còn 27 hệ thống thông tin chưa được "
     "phê duyệt hồ sơ đề xuất cấp độ.", "27", "27 hệ thống thông tin chưa được phê duyệt hồ sơ đề xuất cấp độ"),
    # a list comma is not a clause boundary; "và" between two figures is
    ("Đến nay, sóng 5G đã phủ 100% phường, xã với 2.150 trạm phát sóng.", "2.150",
     "Sóng 5G đã phủ 100% phường, xã với 2.150 trạm phát sóng"),
    ("Toàn tỉnh có 2.874 doanh nghiệp công nghệ số và 1,1 triệu tài khoản thanh toán di động.", "2.874",
     "Toàn tỉnh có 2.874 doanh nghiệp công nghệ số"),
    ("Cổng đã tiếp nhận 12,6 triệu hồ sơ, giúp người dân và doanh nghiệp tiết kiệm khoảng 7,5 nghìn tỷ đồng.",
     "7,5 nghìn tỷ đồng", "Giúp người dân và doanh nghiệp tiết kiệm khoảng 7,5 nghìn tỷ đồng"),
    # a share named only by "chiếm tỷ trọng" takes the clause that names its subject
    ("Kinh tế số ước đạt tăng trưởng 22,4%, chiếm tỷ trọng 18,3% trong GDP.", "18,3%",
     "Kinh tế số ước đạt tăng trưởng 22,4%, chiếm tỷ trọng 18,3% trong GDP"),
])
def test_the_label_is_the_clause_that_states_the_figure(text, raw, label):
    assert label_of(text, raw)["label"] == label


def test_the_period_is_added_when_the_clause_does_not_say_it():
    fig = label_of("Năm 2025, toàn tỉnh tiếp nhận 256.310 hồ sơ thủ tục hành chính.", "256.310")
    assert fig["label"] == "Toàn tỉnh tiếp nhận 256.310 hồ sơ thủ tục hành chính (Năm 2025)"


@pytest.mark.parametrize("text, raw, role", [
    ("Thành phố đặt mục tiêu 85% hộ gia đình sử dụng cáp quang băng rộng vào cuối năm.", "85%", "target"),
    ("Sở đang tham mưu UBND tỉnh các giải pháp để đạt mục tiêu 60% trước cuối năm.", "60%", "target"),
    ("Kế hoạch đặt mục tiêu đến năm 2030 kinh tế số chiếm 20% GRDP, 100% cơ quan nhà nước kết nối mạng chuyên dùng.",
     "100%", "target"),
    ("Theo kế hoạch, ít nhất 80% hồ sơ sức khỏe điện tử sẽ được tạo lập trong năm nay.", "80%", "target"),
    ("Tỷ lệ hồ sơ trực tuyến toàn trình hiện đạt 55,9%, vượt mục tiêu đề ra.", "55,9%", None),
    ("Chương trình đặt ra 62 mục tiêu, trong đó 18 mục tiêu đã hoàn thành (đạt 29%).", "29%", None),
    ("Phát triển doanh nghiệp công nghệ số đạt 50.350 doanh nghiệp/mục tiêu 48.000 doanh nghiệp, đạt 104,9%.",
     "104,9%", None),
    ("Những địa phương có tỷ lệ tăng dưới 40% cần khẩn trương rà soát quy trình.", "40%", "threshold"),
])
def test_goals_and_thresholds_are_told_from_results(text, raw, role):
    fig = label_of(text, raw)
    assert fig["role"] == role
    if role == "threshold":
        assert fig["kind"] == "percent" and fig["direction"] is None  # a condition, not a change


def test_a_long_flattened_table_does_not_make_a_label_of_everything():
    text = "Bảng tổng hợp: " + " ".join(f"đơn vị {n} có {n * 7} hồ sơ" for n in range(1, 400))
    figures = extract_figures(text)
    assert figures and max(len(f["label"]) for f in figures) <= 320


def test_one_fact_stated_twice_in_an_article_is_kept_once_with_the_precise_value():
    title = "Số hóa hơn 245 nghìn hồ sơ đất đai"
    text = ("Điểm trung bình cấp tỉnh tăng 9,4% so với kỳ trước.\n\nĐến nay, tỉnh đã số hóa 245.312 hồ sơ đất đai. "
            "Điểm trung bình DTI cấp tỉnh đạt 0,5921, tăng 9,4% so với năm trước. Tỉnh có 2.150 trạm và 2.160 "
            "trạm phát sóng.")
    figures = article_facts(title, text)["figures"]
    raws = [f["raw"] for f in figures]
    assert raws.count("9,4%") == 1 and "245.312" in raws and "245 nghìn" not in " ".join(raws)
    assert "2.150" in raws and "2.160" in raws  # near values that are not one rounded from the other stay
