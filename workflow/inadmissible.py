"""What a citizen is told when a petition is not accepted (不予受理): the reason and where to go instead."""

from __future__ import annotations

from models.enums import InadmissibleCode

# Where to go instead, one line per code; shown in chat and in the rejection notification.
ADVICE: dict[InadmissibleCode, str] = {
    InadmissibleCode.LITIGATION: "请通过人民法院诉讼、仲裁机构仲裁、纪检监察机关、行政复议机关或政府信息公开申请等法定途径办理；"
    "已进入信访渠道的事项请向原信访受理机关了解进展。",
    InadmissibleCode.UNLAWFUL: "该诉求不符合法律、法规、规章及政策规定，平台无法办理；如有疑问可咨询相关主管部门或法律援助机构（12348）。",
    InadmissibleCode.SECRET_PRIVACY: "涉及国家秘密、商业秘密、个人隐私或违反公序良俗的事项不在平台受理范围内。",
    InadmissibleCode.MILITARY: "属于军队职责范围的事项，请向相关军队机关或退役军人事务部门反映。",
    InadmissibleCode.EMERGENCY: "紧急情况请立即拨打：报警110、火警119、急救120、交通事故122。",
    InadmissibleCode.HARASSMENT: "平台受理有实质内容的诉求，请文明、具体地描述您遇到的问题。",
    InadmissibleCode.OUT_OF_JURISDICTION: "该事项不在本辖区管辖范围，请向事发地所在区(市)平台或当地政务服务热线反映。",
}


def rejection_text(code: InadmissibleCode, note: str = "") -> str:
    """The citizen-facing explanation of a rejection: the reason, the dispatcher's note, and where to go."""
    parts = [f"不予受理原因：{code.label}。"]
    if note:
        parts.append(f"说明：{note}")
    parts.append(ADVICE[code])
    return "\n".join(parts)
