import sys, json, warnings, numpy as np, torch
warnings.simplefilter("ignore")
sys.argv=[sys.argv[0]]+sys.argv[1:]
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "monitor-probe"))
from probe import views
from corrnet import CorrNet, metrics
data = sys.argv[1]; k=int(sys.argv[2]); params=json.loads(sys.argv[3]) if len(sys.argv)>3 else {}
v = views(data)
est = CorrNet(k, random_state=0, **params).fit(v["train"][0], v["train"][1], validation_data=v["val"][:2])
print(data, params, est.optimizer_, est.n_epochs_, est.stop_reason_, est.best_epoch_)
X,Y,_=v["test"]; Xt,Yt,_=v["train"]
hx,hy=est.transform(X=X),est.transform(Y=Y)
mx,my=est.transform(X=Xt[:5000]).mean(0),est.transform(Y=Yt[:5000]).mean(0)
def r(a,b,label):
    print(f"  {label:28s} R@1 {100*metrics.retrieval(a,b)['recall@1']:.1f} / {100*metrics.retrieval(b,a)['recall@1']:.1f}")
r(hx,hy,"sigmoid codes")
r(hx-mx,hy-my,"centred by train mean")
r(hx-hx.mean(0),hy-hy.mean(0),"centred by own mean")
lx=np.log(hx/(1-hx+1e-12)+1e-12); ly=np.log(hy/(1-hy+1e-12)+1e-12)
r(lx-lx.mean(0),ly-ly.mean(0),"pre-activation, centred")
sx=(hx-hx.mean(0))/hx.std(0); sy=(hy-hy.mean(0))/hy.std(0)
r(sx,sy,"z-scored")
