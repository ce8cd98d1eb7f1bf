"""Instructions: who directs whom to do what, by when; nouns and passives are not instructions."""

import pytest

from pipelines.instructions import extract_instructions

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


def test_fields_of_an_instruction():
    text = ("Chủ tịch UBND tỉnh yêu cầu Sở Khoa học và Công nghệ chủ trì, phối hợp với các sở hoàn thành "
            "nâng cấp hệ thống một cửa điện tử trước ngày 30/6/2025.")
    [i] = extract_instructions(text)
    assert i["director"] == "Chủ tịch UBND tỉnh"
    assert i["verb"] == "yêu cầu"
    assert i["directed"] == "Sở Khoa học và Công nghệ"
    assert i["action"].startswith("chủ trì, phối hợp")
    assert i["deadline"] == "trước ngày 30/6/2025"
    assert i["context"] == text and len(i["key"]) == 16


def test_a_sentence_starting_with_the_verb_takes_the_previous_director():
    text = ("Phát biểu kết luận, Chủ tịch UBND tỉnh đề nghị các huyện sớm hoàn thành phủ sóng 4G. "
            "Đồng thời yêu cầu Sở Tài chính bố trí kinh phí trong năm 2026.")
    first, second = extract_instructions(text)
    assert (first["verb"], first["directed"]) == ("đề nghị", "các huyện")
    assert (second["director"], second["directed"], second["deadline"]) == (
        "Chủ tịch UBND tỉnh", "Sở Tài chính", "trong năm 2026")


@pytest.mark.parametrize("text, director, verb, directed", [
    ("Thủ tướng giao Bộ Khoa học và Công nghệ chủ trì xây dựng khung kiến trúc số.",
     "Thủ tướng", "giao", "Bộ Khoa học và Công nghệ"),
    ("Thủ tướng Chính phủ Phạm Minh Chính giao nhiệm vụ cho Bộ Tài chính nghiên cứu cơ chế.",
     "Thủ tướng Chính phủ Phạm Minh Chính", "giao nhiệm vụ", "Bộ Tài chính"),
    ("Bí thư Tỉnh ủy chỉ đạo các cấp ủy đảng tăng cường lãnh đạo chuyển đổi số.",
     "Bí thư Tỉnh ủy", "chỉ đạo", "các cấp ủy đảng"),
    ("Thủ tướng Chính phủ yêu cầu các bộ, ngành, địa phương khẩn trương kết nối dữ liệu.",
     "Thủ tướng Chính phủ", "yêu cầu", "các bộ, ngành, địa phương"),
    ("Bộ trưởng Bộ Khoa học và Công nghệ đề nghị các doanh nghiệp viễn thông đẩy mạnh đầu tư 5G.",
     "Bộ trưởng Bộ Khoa học và Công nghệ", "đề nghị", "các doanh nghiệp viễn thông"),
    ("Thủ tướng giao trách nhiệm cụ thể cho Bộ Tư pháp, Bộ Y tế.", "Thủ tướng", "giao trách nhiệm",
     "Bộ Tư pháp, Bộ Y tế"),
])
def test_directors_and_directed(text, director, verb, directed):
    [i] = extract_instructions(text)
    assert (i["director"], i["verb"], i["directed"]) == (director, verb, directed)


@pytest.mark.parametrize("text", [
    "Việc triển khai phải sát với yêu cầu thực tiễn của từng địa phương.",
    "Các nhiệm vụ được giao đã hoàn thành đúng hạn.",
    "Người dân đề nghị mở rộng thêm các điểm hỗ trợ.",          # a citizen's request, not a directive
    "Hệ thống đáp ứng yêu cầu kỹ thuật về an toàn thông tin.",
    "Sự chỉ đạo quyết liệt của lãnh đạo tỉnh đã mang lại kết quả.",
    "Theo yêu cầu của Bộ, tỉnh đã gửi báo cáo đúng thời hạn.",
    "Hội nghị giao ban chuyển đổi số được tổ chức hằng tháng.",
    "Chủ tịch UBND tỉnh làm việc với Sở Giao thông vận tải về dự án đường cao tốc.",   # a name, not a verb
    "Thủ tướng Chính phủ làm Trưởng Ban Chỉ đạo quốc gia về chuyển đổi số.",
    "Chủ tịch UBND tỉnh bàn giao nhà tình nghĩa cho gia đình chính sách.",              # handing over
    "UBND tỉnh giao đất cho doanh nghiệp thực hiện dự án.",                              # allocating land
    "Chủ tịch UBND tỉnh đề nghị xét tặng danh hiệu cho 5 tập thể.",                      # proposing an award
])
def test_not_instructions(text):
    assert extract_instructions(text) == []


def test_same_instruction_in_two_articles_has_one_key():
    sentence = "Thủ tướng yêu cầu các bộ khẩn trương ban hành kế hoạch chuyển đổi số năm 2026."
    a = extract_instructions("Tin từ Hà Nội. " + sentence)[0]["key"]
    b = extract_instructions(sentence + " Nguồn: Cổng thông tin.")[0]["key"]
    assert a == b


def test_seed_article_instructions(shared_dir):
    seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed texts")
    found = [i for p in seeds for i in extract_instructions(p.read_text(encoding="utf-8"))]
    assert any(i["verb"] == "giao" and i["directed"] == "Bộ Thông tin và Truyền thông" for i in found)
    assert all(i["director"].startswith(("Thủ tướng", "Phó Thủ tướng", "Chủ tịch")) for i in found)


def test_two_instructions_in_one_sentence():
    text = ("Thủ tướng Chính phủ giao Bộ Công an chủ trì hoàn thiện cơ sở dữ liệu dân cư; "
            "giao Bộ Y tế kết nối dữ liệu khám chữa bệnh trước ngày 31/3/2026.")
    first, second = extract_instructions(text)
    assert (first["directed"], first["deadline"]) == ("Bộ Công an", None)
    assert first["action"] == "chủ trì hoàn thiện cơ sở dữ liệu dân cư"
    assert (second["director"], second["directed"], second["deadline"]) == (
        "Thủ tướng Chính phủ", "Bộ Y tế", "trước ngày 31/3/2026")
